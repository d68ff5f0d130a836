"""probe() on hand-built ISO BMFF (MP4/MOV) files: layouts, versions, sizes, lies."""

from __future__ import annotations

import io
import struct
import time

import pytest

from vault.media import MediaFacts, probe_stream

# --- building boxes ------------------------------------------------------------------------


def box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def box64(kind: bytes, *parts: bytes) -> bytes:
    """A box with size==1 and a 64-bit largesize."""
    payload = b"".join(parts)
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def full(kind: bytes, version: int, *parts: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]), *parts)


def ftyp(brand: bytes = b"isom") -> bytes:
    return box(b"ftyp", brand, b"\0\0\2\0", brand, b"mp41")


def mvhd(timescale: int, duration: int, version: int = 0) -> bytes:
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    return full(b"mvhd", version, times, bytes(80))


def mdhd(timescale: int, duration: int, version: int = 0) -> bytes:
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    return full(b"mdhd", version, times, b"\x55\xc4\0\0")


def tkhd(width: float, height: float, version: int = 0) -> bytes:
    times = struct.pack(">QQIIQ", 0, 0, 1, 0, 0) if version == 1 else bytes(20)
    size = struct.pack(">II", int(width * 65536), int(height * 65536))
    return full(b"tkhd", version, times, bytes(16), bytes(36), size)


def hdlr(handler: bytes) -> bytes:
    return full(b"hdlr", 0, bytes(4), handler, bytes(12), b"Handler\0")


def stsd(fourcc: bytes, width: int = 0, height: int = 0) -> bytes:
    entry = box(fourcc, bytes(6), b"\0\1", bytes(16), struct.pack(">HH", width, height), bytes(50))
    return full(b"stsd", 0, struct.pack(">I", 1), entry)


def trak(
    handler: bytes = b"vide",
    fourcc: bytes = b"avc1",
    size: tuple[float, float] = (640, 360),
    entry_size: tuple[int, int] = (640, 360),
    media_time: tuple[int, int] = (90000, 90000 * 4),
    version: int = 0,
) -> bytes:
    stbl = box(b"stbl", stsd(fourcc, *entry_size), full(b"stts", 0, bytes(4)))
    minf = box(b"minf", full(b"vmhd", 0, bytes(8)), stbl)
    mdia = box(b"mdia", mdhd(*media_time, version=version), hdlr(handler), minf)
    return box(b"trak", tkhd(*size, version=version), mdia)


def moov(*children: bytes) -> bytes:
    return box(b"moov", *children)


def facts_of(data: bytes, size: int | None = None) -> MediaFacts:
    return probe_stream(io.BytesIO(data), len(data) if size is None else size)


STANDARD = moov(mvhd(1000, 4000), trak())
EXPECTED = MediaFacts(container="mp4", duration_s=4.0, width=640, height=360, codec="h264")


# --- layouts -------------------------------------------------------------------------------


def test_moov_before_mdat() -> None:
    assert facts_of(ftyp() + STANDARD + box(b"mdat", bytes(1000))) == EXPECTED


def test_moov_after_mdat_is_found_by_seeking() -> None:
    assert facts_of(ftyp() + box(b"mdat", bytes(100_000)) + STANDARD) == EXPECTED


def test_free_and_uuid_boxes_before_moov_are_skipped() -> None:
    data = ftyp() + box(b"free", bytes(10)) + box(b"uuid", bytes(16 + 5)) + STANDARD
    assert facts_of(data) == EXPECTED


def test_version_1_headers() -> None:
    data = ftyp() + moov(mvhd(48000, 48000 * 90, version=1), trak(version=1))
    assert facts_of(data) == MediaFacts("mp4", 90.0, 640, 360, "h264")


def test_64_bit_box_sizes_at_top_level_and_inside_moov() -> None:
    data = ftyp() + box64(b"mdat", bytes(64)) + box64(b"moov", mvhd(1000, 4000), trak())
    assert facts_of(data) == EXPECTED


class SparseFile(io.RawIOBase):
    """A huge virtual file: real bytes at a few offsets, zeros elsewhere, nothing allocated."""

    def __init__(self, size: int, pieces: dict[int, bytes]) -> None:
        self.size, self.pieces, self.pos = size, pieces, 0
        self.bytes_read = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = (
            offset if whence == 0 else (self.pos + offset if whence == 1 else self.size + offset)
        )
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        out = bytearray(max(0, n))
        for at, piece in self.pieces.items():
            lo, hi = max(at, self.pos), min(at + len(piece), self.pos + n)
            if lo < hi:
                out[lo - self.pos : hi - self.pos] = piece[lo - at : hi - at]
        self.pos += len(out)
        self.bytes_read += len(out)
        return bytes(out)


def test_moov_after_a_5_gib_mdat_with_64_bit_size() -> None:
    mdat_size = 5 * 1024**3
    head = ftyp() + struct.pack(">I4sQ", 1, b"mdat", mdat_size)
    tail = STANDARD
    total = len(ftyp()) + mdat_size + len(tail)
    f = SparseFile(total, {0: head, total - len(tail): tail})
    assert probe_stream(f, total) == EXPECTED  # type: ignore[arg-type]
    assert f.bytes_read < 200_000


def test_size_zero_box_runs_to_the_end_of_the_file() -> None:
    last = struct.pack(">I4s", 0, b"moov") + mvhd(1000, 4000) + trak()
    assert facts_of(ftyp() + box(b"mdat", bytes(10)) + last) == EXPECTED


def test_quicktime_brand_and_ftyp_less_files_are_mov() -> None:
    assert facts_of(ftyp(b"qt  ") + STANDARD).container == "mov"
    assert facts_of(box(b"wide") + box(b"mdat", bytes(8)) + STANDARD).container == "mov"
    assert facts_of(STANDARD) == MediaFacts("mov", 4.0, 640, 360, "h264")


# --- which numbers are used ------------------------------------------------------------------


def test_first_video_track_wins_over_audio_and_later_video() -> None:
    audio = trak(handler=b"soun", fourcc=b"mp4a", size=(0, 0), entry_size=(0, 0))
    second = trak(fourcc=b"hvc1", size=(1920, 1080))
    data = ftyp() + moov(mvhd(1000, 4000), audio, trak(fourcc=b"mp4v"), second)
    assert facts_of(data) == MediaFacts("mp4", 4.0, 640, 360, "mpeg4")


def test_audio_only_file_has_no_video_facts() -> None:
    audio = trak(handler=b"soun", fourcc=b"mp4a")
    assert facts_of(ftyp() + moov(mvhd(1000, 2500), audio)) == MediaFacts("mp4", 2.5)


def test_fractional_track_size_is_rounded() -> None:
    data = ftyp() + moov(mvhd(1000, 4000), trak(size=(853.33, 480)))
    assert (facts_of(data).width, facts_of(data).height) == (853, 480)


def test_zero_track_size_falls_back_to_the_sample_entry() -> None:
    data = ftyp() + moov(mvhd(1000, 4000), trak(size=(0, 0), entry_size=(1280, 720)))
    assert (facts_of(data).width, facts_of(data).height) == (1280, 720)


@pytest.mark.parametrize(
    ("fourcc", "codec"),
    [
        (b"avc1", "h264"),
        (b"avc3", "h264"),
        (b"hvc1", "hevc"),
        (b"hev1", "hevc"),
        (b"mp4v", "mpeg4"),
        (b"jpeg", "mjpeg"),
        (b"av01", "av1"),
        (b"vp09", "vp9"),
        (b"apcn", "prores"),
        (b"zzz9", "zzz9"),  # unknown tags are reported as written
        (b"\xff\x00\x01\x02", None),  # unprintable tags are not
    ],
)
def test_sample_entry_fourcc_names_the_codec(fourcc: bytes, codec: str | None) -> None:
    assert facts_of(ftyp() + moov(mvhd(1000, 4000), trak(fourcc=fourcc))).codec == codec


def test_missing_mvhd_uses_the_video_track_duration() -> None:
    data = ftyp() + moov(trak(media_time=(30, 75)))
    assert facts_of(data).duration_s == 2.5


def test_unknown_duration_is_none() -> None:
    data = ftyp() + moov(mvhd(1000, 0xFFFF_FFFF), trak(media_time=(1, 0xFFFF_FFFF)))
    assert facts_of(data).duration_s is None


def test_zero_timescale_is_none_not_a_division_error() -> None:
    data = ftyp() + moov(mvhd(0, 4000), trak(media_time=(0, 10)))
    assert facts_of(data) == MediaFacts("mp4", None, 640, 360, "h264")


# --- fragmented MP4 --------------------------------------------------------------------------


def fragments(count: int) -> bytes:
    moof = box(b"moof", full(b"mfhd", 0, struct.pack(">I", 1)), box(b"traf"))
    return (moof + box(b"mdat", bytes(32))) * count


@pytest.mark.parametrize("version", [0, 1])
def test_fragmented_mp4_duration_comes_from_mehd(version: int) -> None:
    mehd = full(b"mehd", version, struct.pack(">Q" if version else ">I", 12_000))
    mvex = box(b"mvex", mehd, full(b"trex", 0, bytes(20)))
    data = ftyp(b"iso6") + moov(mvhd(1000, 0), trak(media_time=(90000, 0)), mvex) + fragments(3)
    assert facts_of(data) == MediaFacts("mp4", 12.0, 640, 360, "h264")


def test_fragmented_mp4_without_mehd_has_no_duration_but_the_rest() -> None:
    mvex = box(b"mvex", full(b"trex", 0, bytes(20)))
    data = ftyp(b"iso6") + moov(mvhd(1000, 0), trak(media_time=(90000, 0)), mvex) + fragments(3)
    assert facts_of(data) == MediaFacts("mp4", None, 640, 360, "h264")


def test_media_segment_without_moov_is_still_mp4() -> None:
    assert facts_of(box(b"styp", b"msdh", bytes(4)) + fragments(2)) == MediaFacts("mp4")


# --- truncated, lying and hostile files --------------------------------------------------------


def test_truncated_moov_keeps_what_was_read() -> None:
    whole = ftyp() + STANDARD
    cut = whole[: len(ftyp()) + 8 + len(mvhd(1000, 4000)) + 20]
    assert facts_of(cut) == MediaFacts("mp4", 4.0)


@pytest.mark.parametrize("cut", range(0, len(ftyp() + STANDARD), 7))
def test_every_truncation_is_harmless(cut: int) -> None:
    facts = facts_of((ftyp() + STANDARD)[:cut])
    assert facts.container in (None, "mp4")


def test_declared_size_larger_than_the_data() -> None:
    data = ftyp() + STANDARD
    assert facts_of(data, size=len(data) + 10**12) == EXPECTED


def test_size_smaller_than_the_header_stops_the_walk() -> None:
    data = ftyp() + struct.pack(">I4s", 4, b"free") + STANDARD
    assert facts_of(data) == MediaFacts("mp4")


def test_huge_declared_moov_size_does_not_allocate() -> None:
    data = ftyp() + struct.pack(">I4sQ", 1, b"moov", 2**63) + mvhd(1000, 4000) + trak()
    assert facts_of(data) == EXPECTED


def test_a_million_tiny_boxes_inside_moov_finish_quickly() -> None:
    data = ftyp() + moov(box(b"free") * 500_000, mvhd(1000, 4000), trak())
    started = time.process_time()
    facts = facts_of(data)
    assert time.process_time() - started < 2.0  # CPU time: the work is bounded, whatever the load
    assert facts.container == "mp4"  # the element budget ran out before mvhd: that's fine


def test_thousands_of_top_level_boxes_before_moov_are_bounded() -> None:
    data = ftyp() + box(b"free") * 200_000 + STANDARD
    started = time.process_time()
    assert facts_of(data).container == "mp4"
    assert time.process_time() - started < 2.0  # CPU time: the work is bounded, whatever the load


def test_deeply_nested_size_zero_boxes_do_not_recurse() -> None:
    nest = b"".join(struct.pack(">I4s", 0, kind) for kind in [b"moov", b"trak", b"mdia"] * 20_000)
    started = time.process_time()
    assert facts_of(ftyp() + nest).container == "mp4"
    assert time.process_time() - started < 2.0  # CPU time: the work is bounded, whatever the load


def test_zero_size_box_chain_at_top_level() -> None:
    data = ftyp() + struct.pack(">I4s", 0, b"free") * 10_000
    assert facts_of(data) == MediaFacts("mp4")
