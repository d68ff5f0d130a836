"""probe_stream() never raises and always finishes quickly, whatever the bytes."""

from __future__ import annotations

import functools
import io
import math
import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo import synth
from vault.media import MediaFacts, probe_stream
from vault.media.common import Facts, Source
from vault.media.sniff import HEAD, recognise

FAST = 1.0  # CPU seconds one probe may take (CPU time, so the load of the machine does not count)

MAGIC = [
    b"",
    b"\x00\x00\x00\x18ftypisom",
    b"\x00\x00\x00\x00moov",
    b"\x00\x00\x00\x01mdat",
    b"\x1a\x45\xdf\xa3",
    b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff",
    b"RIFF\xff\xff\xff\xffAVI LIST",
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"\x00\x00\x00\x01\x67",
    b"\x47",
]


@functools.cache
def real_clips() -> list[bytes]:
    """Small real MP4s, one per codec available (moov-last from PyAV, moov-first by hand)."""
    return [
        synth.clip_bytes(seconds=0.5, width=64, height=48, codec=c)
        for c in synth.available_codecs()
    ]


def check(data: bytes, size: int | None = None) -> MediaFacts:
    started = time.process_time()
    facts = probe_stream(io.BytesIO(data), len(data) if size is None else size)
    assert time.process_time() - started < FAST
    assert isinstance(facts, MediaFacts)
    assert facts.duration_s is None or (math.isfinite(facts.duration_s) and facts.duration_s >= 0)
    for dimension in (facts.width, facts.height):
        assert dimension is None or 0 < dimension <= 65535
    return facts


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048), st.integers(-10, 2**64))
def test_bytes_behind_each_magic_with_any_declared_size(
    prefix: bytes, rest: bytes, size: int
) -> None:
    check(prefix + rest, size=size)


@st.composite
def mutated_clip(draw: st.DrawFn) -> bytes:
    clips = real_clips()
    data = bytearray(draw(st.sampled_from(clips)) if clips else MAGIC[1] + bytes(200))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "size", "cut", "insert", "zero"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "size":  # overwrite a 32-bit word: the commonest lie is a box size
            value = draw(
                st.sampled_from([0, 1, 7, 8, 9, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)
            )
            data[at : at + 4] = struct.pack(">I", value)
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=32))
        elif kind == "zero":
            length = draw(st.integers(1, 64))
            data[at : at + length] = bytes(length)
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_clip())
def test_mutated_real_clips(data: bytes) -> None:
    check(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_truncated_real_clips_never_claim_more_than_the_whole(data: st.DataObject) -> None:
    clips = real_clips()
    if not clips:
        return
    clip = data.draw(st.sampled_from(clips))
    whole = check(clip)
    part = check(clip[: data.draw(st.integers(0, len(clip)))])
    for field in ("container", "duration_s", "width", "height", "codec"):
        assert getattr(part, field) in (None, getattr(whole, field))


def strict_probe(data: bytes) -> None:
    """probe_stream's steps without its catch-all, so a parser bug shows up as an exception.

    The catch-all keeps ingest alive, but a parser that leans on it loses the
    facts it had not yet recorded; these tests hold the parsers to not raising.
    """
    src = Source(io.BytesIO(data), len(data))
    head = src.read(0, HEAD)
    found = recognise(head)
    if found is not None and found[1] is not None:
        found[1](src, head, Facts())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_clip(), st.builds(bytes.__add__, st.sampled_from(MAGIC), st.binary())))
def test_parsers_do_not_lean_on_the_catch_all(data: bytes) -> None:
    strict_probe(data)
