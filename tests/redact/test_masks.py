"""Privacy masks: parsed strictly, and filled solid in every frame of a real
H.264 re-encode (decoded back and examined pixel by pixel)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.tools import require_module, require_tool
from vault.errors import UsageError
from vault.redact import regions
from vault.redact.regions import MaskRect, asked_box, filled_box, parse_rect

MEDIA = "pip install 'ringfence[media]'"


def test_rect_parses_exact_millionths() -> None:
    assert parse_rect("0.1,0.2,0.3,0.25") == MaskRect(100_000, 200_000, 300_000, 250_000)
    assert parse_rect(" 0 , .5 ,1, 0.5 ") == MaskRect(0, 500_000, 1_000_000, 500_000)
    assert parse_rect("0.000001,0,0.999999,1.000000") == MaskRect(1, 0, 999_999, 1_000_000)
    assert parse_rect("0.1,0.2,0.3,0.25").text() == "0.1,0.2,0.3,0.25"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0,0,1",
        "0,0,1,1,1",
        "a,0,1,1",
        "-0.1,0,0.5,0.5",
        "0,0,1.1,1",
        "1.5,0,0,1",
        "0,0,0,1",
        "0,0,1,0",
        "0.6,0,0.5,1",
        "0,0.6,1,0.5",
        "0.1234567,0,0.5,0.5",
        "nan,0,1,1",
        "inf,0,1,1",
        "1e-1,0,1,1",
        "0x1,0,1,1",
        ".,0,1,1",
        "0,,1,1",
        "１,0,1,1",
    ],
)
def test_bad_rects_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(UsageError, match="--rect"):
        parse_rect(text)


@pytest.mark.parametrize(
    "values",
    [
        [0.1, 0, 1, 1],
        [True, 0, 1, 1],
        [0, 0, 1],
        "0,0,1,1",
        None,
        [0, 0, 0, 10],
        [-1, 0, 10, 10],
        [0, 0, 1_000_001, 1],
        [500_000, 0, 500_001, 1],
    ],
)
def test_stored_rects_are_checked_when_read_back(values: object) -> None:
    with pytest.raises(UsageError):
        regions.check_rect(values)


def test_the_filled_box_covers_the_asked_box_on_the_macroblock_grid() -> None:
    for text in ("0.1,0.2,0.3,0.25", "0,0,1,1", "0.5,0.5,0.5,0.5", "0.333333,0.1,0.01,0.01"):
        rect = parse_rect(text)
        for width, height in ((1280, 720), (1920, 1080), (320, 240), (642, 362)):
            ax0, ay0, ax1, ay1 = asked_box(rect, width, height)
            fx0, fy0, fx1, fy1 = filled_box(rect, width, height)
            assert ax1 > ax0 and ay1 > ay0
            # Inside, with the guard wherever the frame leaves room for it.
            assert fx0 <= max(0, ax0 - regions.GUARD) and fy0 <= max(0, ay0 - regions.GUARD)
            assert fx1 >= min(width, ax1 + regions.GUARD)
            assert fy1 >= min(height, ay1 + regions.GUARD)
            assert fx0 % 16 == 0 and fy0 % 16 == 0
            assert fx1 % 16 == 0 or fx1 == width
            assert fy1 % 16 == 0 or fy1 == height


def _clip(path: Path, *, seconds: float, width: int, height: int, fps: int) -> Path:
    from demo.synth import write_clip

    write_clip(path, seconds=seconds, width=width, height=height, fps=fps, seed=7, codec="h264")
    return path


def _frames(path: Path, fmt: str) -> list:
    av = require_module("av", MEDIA)
    with av.open(str(path)) as c:
        return [f.to_ndarray(format=fmt) for f in c.decode(video=0)]


def test_every_mask_pixel_is_the_fill_colour_in_every_frame(tmp_path: Path) -> None:
    np = require_module("numpy", MEDIA)
    from vault.redact.video import redact

    src = _clip(tmp_path / "in.mp4", seconds=3, width=640, height=360, fps=10)
    masks = [parse_rect("0.1,0.2,0.3,0.25"), parse_rect("0.61,0.55,0.2,0.4")]
    seen: list[tuple[int, int]] = []
    result = redact(
        src,
        tmp_path / "out.mp4",
        masks=masks,
        progress=lambda done, total: seen.append((done, total)),
    )
    before, after = _frames(src, "rgb24"), _frames(tmp_path / "out.mp4", "rgb24")
    assert result.frames == len(before) == len(after) == 30
    assert seen[-1][0] == 30 and [d for d, _ in seen] == list(range(1, 31))
    yuv = _frames(tmp_path / "out.mp4", "yuv420p")
    for rgb, planes in zip(after, yuv, strict=True):
        for m in masks:
            x0, y0, x1, y1 = asked_box(m, 640, 360)
            assert (rgb[y0:y1, x0:x1] == 0).all()
            assert (planes[y0:y1, x0:x1] == regions.FILL_YUV[0]).all()
    # The picture outside the filled boxes is still the picture.
    keep = np.ones((360, 640), dtype=bool)
    for m in masks:
        x0, y0, x1, y1 = filled_box(m, 640, 360)
        keep[y0:y1, x0:x1] = False
    for a, b in zip(before, after, strict=True):
        diff = np.abs(a.astype(int) - b.astype(int))[keep]
        assert diff.mean() < 6
    # The source content under the mask was not flat: the fill did something.
    x0, y0, x1, y1 = asked_box(masks[0], 640, 360)
    assert before[0][y0:y1, x0:x1].std() > 5


def test_a_dark_noisy_scene_does_not_bleed_into_the_mask(tmp_path: Path) -> None:
    """Night footage: neighbouring dark pixels are the ones the deblocking filter
    would smear across a mask edge that is not guarded and grid-aligned."""
    av = require_module("av", MEDIA)
    np = require_module("numpy", MEDIA)
    from vault.redact.video import redact

    rng = np.random.default_rng(1)
    src = tmp_path / "dark.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 640, 368, "yuv420p"
        for _ in range(20):
            rgb = rng.integers(0, 50, (368, 640, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    mask = parse_rect("0.21,0.13,0.33,0.41")
    redact(src, tmp_path / "out.mp4", masks=[mask])
    x0, y0, x1, y1 = asked_box(mask, 640, 368)
    for planes in _frames(tmp_path / "out.mp4", "yuv420p"):
        assert (planes[y0:y1, x0:x1] == regions.FILL_YUV[0]).all()


def test_audio_is_kept_and_the_frame_count_too(tmp_path: Path) -> None:
    ffmpeg = require_tool("ffmpeg")
    ffprobe = require_tool("ffprobe")
    from vault.redact.video import redact

    src = tmp_path / "av.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=10:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
            str(src),
        ],
        check=True,
    )
    out = tmp_path / "out.mp4"
    result = redact(src, out, masks=[parse_rect("0,0,0.5,0.5")])
    probe = json.loads(
        subprocess.run(
            [ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(out)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert set(kinds) == {"video", "audio"}
    assert kinds["video"]["codec_name"] == "h264"
    assert int(kinds["video"]["nb_read_frames"]) == result.frames == 20


def test_what_cannot_be_decoded_is_a_clear_error(tmp_path: Path) -> None:
    require_module("av", MEDIA)
    from vault.redact.video import RedactError, redact

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    with pytest.raises(RedactError, match="bad.mp4"):
        redact(bad, tmp_path / "out.mp4", masks=[parse_rect("0,0,1,1")])
