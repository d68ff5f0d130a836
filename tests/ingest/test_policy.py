from datetime import UTC, datetime

import pytest

from vault.ingest.policy import (
    Observation,
    capture_time,
    display_name,
    is_ignored_name,
    is_ignored_path,
    is_settled,
)


@pytest.mark.parametrize(
    "name",
    [".hidden.mp4", "clip.mp4.part", "clip.tmp", "clip.mp4~", "x.PART", ".", "a.filepart"],
)
def test_temporary_and_hidden_names_are_ignored(name):
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["clip.mp4", "front door 12.mp4", "clip.parts.mp4", "tmp.mp4"])
def test_ordinary_names_are_not_ignored(name):
    assert not is_ignored_name(name)


def test_a_hidden_folder_hides_its_files():
    assert is_ignored_path((".sync", "clip.mp4"))
    assert not is_ignored_path(("2026", "11", "clip.mp4"))


def test_settled_needs_stillness_for_the_whole_period():
    a = Observation(100, 1_000_000_000, seen_at=10.0)
    same_later = Observation(100, 1_000_000_000, seen_at=16.0)
    grown = Observation(200, 2_000_000_000, seen_at=16.0)
    assert is_settled(a, same_later, 5.0, wall_now=100.0)
    assert not is_settled(a, grown, 5.0, wall_now=100.0)
    assert not is_settled(a, Observation(100, 1_000_000_000, 12.0), 5.0, wall_now=100.0)
    # mtime only 2 s old by the wall clock: the writer may just have paused
    assert not is_settled(a, same_later, 5.0, wall_now=3.0)


def test_capture_time_from_pattern_and_fallback(utc_local_time):
    got = capture_time("front_20261128_101500.mp4", "front_%Y%m%d_%H%M%S", 0.0)
    assert got == datetime(2026, 11, 28, 10, 15, 0, tzinfo=UTC)
    fallback = capture_time("random.mp4", "front_%Y%m%d_%H%M%S", 1_800_000_000.0)
    assert fallback == datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)


def test_display_name_escapes_undecodable_bytes():
    import os

    name = os.fsdecode(b"clip-\xff.mp4")
    assert display_name(name) == "clip-\\xff.mp4"
