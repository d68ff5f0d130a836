"""probe() on Matroska/WebM, AVI, MPEG-TS and still images, hand-built and made by FFmpeg."""

from __future__ import annotations

import functools
import io
import struct

import pytest

from demo import synth
from vault.media import MediaFacts, probe_stream


def facts_of(data: bytes) -> MediaFacts:
    return probe_stream(io.BytesIO(data), len(data))


# --- Matroska / WebM ----------------------------------------------------------------------


def vint_size(n: int) -> bytes:
    """The shortest EBML size encoding of n."""
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | n).to_bytes(length, "big")
    raise ValueError(n)


UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def el(ident: int, *parts: bytes, size: bytes | None = None) -> bytes:
    payload = b"".join(parts)
    head = ident.to_bytes((ident.bit_length() + 7) // 8, "big")
    return head + (vint_size(len(payload)) if size is None else size) + payload


def uint(ident: int, value: int) -> bytes:
    return el(ident, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def ebml_header(doctype: bytes | None) -> bytes:
    parts = [uint(0x4286, 1), uint(0x42F7, 1)]
    if doctype is not None:
        parts.append(el(0x4282, doctype))
    return el(0x1A45DFA3, *parts)


def info(duration_ticks: float, scale: int | None = 1_000_000, double: bool = True) -> bytes:
    parts = [el(0x4D80, b"hand")]
    if scale is not None:
        parts.insert(0, uint(0x2AD7B1, scale))
    parts.append(el(0x4489, struct.pack(">d" if double else ">f", duration_ticks)))
    return el(0x1549A966, *parts)


def track(
    kind: int, codec_id: bytes, width: int = 0, height: int = 0, private: bytes = b""
) -> bytes:
    parts = [uint(0xD7, 1), uint(0x83, kind), el(0x86, codec_id)]
    if private:
        parts.append(el(0x63A2, private))
    if width or height:
        parts.append(el(0xE0, uint(0xB0, width), uint(0xBA, height)))
    return el(0xAE, *parts)


def tracks(*entries: bytes) -> bytes:
    return el(0x1654AE6B, *entries)


def segment(*children: bytes, size: bytes | None = None) -> bytes:
    return el(0x18538067, *children, size=size)


CLUSTER = el(0x1F43B675, uint(0xE7, 0), el(0xA3, bytes(64)))


def test_webm_doctype_duration_and_video_track() -> None:
    data = ebml_header(b"webm") + segment(
        info(2500.0), tracks(track(1, b"V_VP9", 640, 360)), CLUSTER
    )
    assert facts_of(data) == MediaFacts("webm", 2.5, 640, 360, "vp9")


def test_matroska_with_audio_first_and_a_custom_timecode_scale() -> None:
    data = ebml_header(b"matroska") + segment(
        info(3000.0, scale=500_000, double=False),
        tracks(track(2, b"A_OPUS"), track(1, b"V_MPEG4/ISO/AVC", 1920, 1080)),
    )
    assert facts_of(data) == MediaFacts("matroska", 1.5, 1920, 1080, "h264")


def test_missing_doctype_defaults_to_matroska_and_missing_scale_to_milliseconds() -> None:
    data = ebml_header(None) + segment(info(4000.0, scale=None))
    assert facts_of(data) == MediaFacts("matroska", 4.0)


def test_live_recording_with_unknown_segment_size() -> None:
    data = ebml_header(b"webm") + segment(
        info(1000.0), tracks(track(1, b"V_VP8", 320, 240)), CLUSTER, size=UNKNOWN_SIZE
    )
    assert facts_of(data) == MediaFacts("webm", 1.0, 320, 240, "vp8")


def test_vfw_codec_private_gives_the_fourcc() -> None:
    bitmapinfo = struct.pack("<IiiHH4s", 40, 320, 240, 1, 24, b"MJPG") + bytes(20)
    data = ebml_header(b"matroska") + segment(
        tracks(track(1, b"V_MS/VFW/FOURCC", 320, 240, private=bitmapinfo))
    )
    assert facts_of(data).codec == "mjpeg"


def test_info_and_tracks_after_the_clusters_are_found_through_the_seekhead() -> None:
    clusters = CLUSTER * 20_000  # ~1.5 MiB: beyond what is searched from the start
    tail_info, tail_tracks = info(7000.0), tracks(track(1, b"V_AV1", 1280, 720))

    def seekhead(info_at: int, tracks_at: int) -> bytes:
        def seek(ident: bytes, at: int) -> bytes:
            return el(0x4DBB, el(0x53AB, ident), el(0x53AC, at.to_bytes(8, "big")))

        return el(
            0x114D9B74, seek(b"\x15\x49\xa9\x66", info_at), seek(b"\x16\x54\xae\x6b", tracks_at)
        )

    head_len = len(seekhead(0, 0))
    info_at = head_len + len(clusters)
    body = seekhead(info_at, info_at + len(tail_info)) + clusters + tail_info + tail_tracks
    data = ebml_header(b"matroska") + segment(body)
    assert facts_of(data) == MediaFacts("matroska", 7.0, 1280, 720, "av1")


def test_ebml_header_without_segment_is_only_a_container() -> None:
    assert facts_of(ebml_header(b"webm")) == MediaFacts("webm")


def test_invalid_ebml_ids_and_sizes_stop_the_walk() -> None:
    data = ebml_header(b"webm") + b"\x00\x00\x00\x00" + segment(info(1000.0))
    assert facts_of(data) == MediaFacts("webm")


def test_nan_and_negative_durations_are_none() -> None:
    for ticks in (float("nan"), float("inf"), -5.0):
        assert facts_of(ebml_header(b"webm") + segment(info(ticks))).duration_s is None


# --- AVI -----------------------------------------------------------------------------------


def chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def riff_list(kind: bytes, *chunks: bytes) -> bytes:
    return chunk(b"LIST", kind + b"".join(chunks))


def avi(
    width: int = 640,
    height: int = 480,
    usec: int = 40_000,
    frames: int = 250,
    handler: bytes = b"XVID",
    compression: bytes = b"XVID",
    strh_length: int = 0,
    odml_frames: int | None = None,
) -> bytes:
    avih = struct.pack("<10I", usec, 0, 0, 0, frames, 0, 1, 0, width, height) + bytes(16)
    strh = (
        b"vids"
        + handler
        + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, strh_length, 0, 0, 0, 0, 0, 0, 0)
    )
    strf = struct.pack("<IiiHH4sIiiII", 40, width, -height, 1, 24, compression, 0, 0, 0, 0, 0)
    hdrl = [chunk(b"avih", avih), riff_list(b"strl", chunk(b"strh", strh), chunk(b"strf", strf))]
    if odml_frames is not None:
        hdrl.append(riff_list(b"odml", chunk(b"dmlh", struct.pack("<I", odml_frames))))
    body = b"AVI " + riff_list(b"hdrl", *hdrl) + riff_list(b"movi", chunk(b"00dc", bytes(100)))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_avi_main_header() -> None:
    assert facts_of(avi()) == MediaFacts("avi", 10.0, 640, 480, "mpeg4")


def test_avi_stream_length_and_opendml_frame_count() -> None:
    assert facts_of(avi(strh_length=500)).duration_s == 20.0  # dwLength * dwScale / dwRate
    assert facts_of(avi(odml_frames=1000)).duration_s == 40.0  # all RIFF parts, not the first


def test_avi_size_from_the_bitmap_header_when_the_main_header_has_none() -> None:
    data = avi(width=0, height=0)
    assert (facts_of(data).width, facts_of(data).height) == (None, None)  # strf uses avih's 0
    facts = facts_of(avi(compression=b"MJPG", handler=b"\0\0\0\0"))
    assert facts.codec == "mjpeg"


# --- other containers and raw streams -------------------------------------------------------


def test_mpeg_ts_and_m2ts() -> None:
    packet = b"\x47" + bytes(187)
    assert facts_of(packet * 4) == MediaFacts("mpegts")
    assert facts_of((b"\0\0\0\0" + packet) * 4) == MediaFacts("mpegts")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\0\0\0\x01\x67\x64\x00\x1f" + bytes(32), MediaFacts("h264", codec="h264")),
        (b"\0\0\x01\x09\xf0" + bytes(32), MediaFacts("h264", codec="h264")),
        (b"\0\0\0\x01\x40\x01\x0c\x01" + bytes(32), MediaFacts("hevc", codec="hevc")),
        (b"\0\0\x01\xba" + bytes(32), MediaFacts("mpegps")),
        (b"FLV\x01\x05" + bytes(32), MediaFacts("flv")),
        (b"OggS" + bytes(32), MediaFacts("ogg")),
        (b"\0\0\0\x01\xff" + bytes(32), MediaFacts()),
    ],
)
def test_magic_bytes(data: bytes, expected: MediaFacts) -> None:
    assert facts_of(data) == expected


def test_png_header() -> None:
    ihdr = struct.pack(">IIBBBBB", 800, 600, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + bytes(4)
    assert facts_of(data) == MediaFacts("png", None, 800, 600, "png")


def test_jpeg_snapshot_size_behind_exif() -> None:
    pil = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    pil.new("RGB", (160, 90)).save(out, "JPEG", exif=b"Exif\0\0" + bytes(30_000))
    assert facts_of(out.getvalue()) == MediaFacts("jpeg", None, 160, 90, "mjpeg")


def test_jpeg_without_frame_header() -> None:
    assert facts_of(b"\xff\xd8\xff\xe0\x00\x04ab\xff\xda" + bytes(16)) == MediaFacts(
        "jpeg", codec="mjpeg"
    )


# --- files written by FFmpeg (through PyAV) --------------------------------------------------

av = pytest.importorskip("av")


def encode(encoder: str, fmt: str, codec_options: dict[str, str]) -> bytes:
    """Ten black 64x48 frames at 10 fps."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(encoder, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = codec_options
        for i in range(10):
            frame = av.VideoFrame(64, 48, "yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def remux(data: bytes, fmt: str, **options: str) -> bytes:
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format=fmt, options=options) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return out.getvalue()


def has_encoder(name: str) -> bool:
    return name in av.codec.codecs_available


@functools.cache
def h264_clip() -> bytes:
    return synth.clip_bytes(seconds=2.0, codec="h264")


@pytest.mark.skipif(not has_encoder("libx264"), reason="needs libx264")
@pytest.mark.parametrize(
    ("fmt", "options", "container", "duration"),
    [
        ("matroska", {}, "matroska", 2.0),
        ("mov", {}, "mov", 2.0),
        ("mp4", {"movflags": "frag_keyframe"}, "mp4", 2.0),
        ("mp4", {"movflags": "frag_keyframe+empty_moov"}, "mp4", None),
    ],
)
def test_real_h264_remuxed(
    fmt: str, options: dict[str, str], container: str, duration: float | None
) -> None:
    facts = facts_of(remux(h264_clip(), fmt, **options))
    assert facts == MediaFacts(container, duration, 320, 240, "h264")


@pytest.mark.skipif(not has_encoder("libx264"), reason="needs libx264")
def test_real_mpegts_is_recognised() -> None:
    assert facts_of(remux(h264_clip(), "mpegts")) == MediaFacts("mpegts")


@pytest.mark.parametrize(
    ("encoder", "fmt", "container", "codec"),
    [
        ("libvpx", "webm", "webm", "vp8"),
        ("libvpx-vp9", "webm", "webm", "vp9"),
        ("libx265", "mp4", "mp4", "hevc"),
        ("mpeg4", "avi", "avi", "mpeg4"),
        ("libx264", "avi", "avi", "h264"),
        ("libx264", "matroska", "matroska", "h264"),
    ],
)
def test_real_files_from_other_encoders(encoder: str, fmt: str, container: str, codec: str) -> None:
    if not has_encoder(encoder):
        pytest.skip(f"FFmpeg here has no {encoder}")
    options = {"x265-params": "log-level=none"} if encoder == "libx265" else {}
    assert facts_of(encode(encoder, fmt, options)) == MediaFacts(container, 1.0, 64, 48, codec)
