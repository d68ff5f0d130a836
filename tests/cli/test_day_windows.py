"""A date without a time means the whole day: `--to` to its last moment, `--from` from midnight.

The vault runs in Europe/Berlin local time (UTC+1 in November), so a date
read as UTC would be an hour off and the late clip would fall outside.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.tools import cli_env, run_cli
from vault.timeutil import is_date_only, parse_end_time, parse_time

ZONE = "Europe/Berlin"
LOCAL_TIMES = [
    "2026-11-27T23:59:30",
    "2026-11-28T00:00:30",
    "2026-11-28T12:00:00",
    "2026-11-28T23:59:30",
    "2026-11-29T00:00:30",
]
IN_DAY = LOCAL_TIMES[1:4]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A vault with one clip at each of LOCAL_TIMES; (vault, env, local time -> clip id)."""
    root, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    env = cli_env(root, TZ=ZONE)
    run_cli(root, "init", "--kdf-log-n", "10", env=env)
    run_cli(root, "camera", "add", "front", str(drop), "--pattern", "front_%Y%m%d_%H%M%S", env=env)
    for t in LOCAL_TIMES:
        stamp = datetime.fromisoformat(t).strftime("%Y%m%d_%H%M%S")
        (drop / f"front_{stamp}.mp4").write_bytes(t.encode() * 100)
    run_cli(root, "daemon", "--once", env=env)
    listed = json.loads(run_cli(root, "clips", "list", "--json", env=env).stdout)
    assert len(listed) == len(LOCAL_TIMES)
    by_utc = {c["captured_at"]: c["id"] for c in listed}
    zone = ZoneInfo(ZONE)
    return (
        root,
        env,
        {
            t: by_utc[
                datetime.fromisoformat(t)
                .replace(tzinfo=zone)
                .astimezone(UTC)
                .strftime("%Y-%m-%dT%H:%M:%SZ")
            ]
            for t in LOCAL_TIMES
        },
    )


def test_clips_list_until_a_date_includes_that_day(
    world: tuple[Path, dict[str, str], dict[str, str]],
) -> None:
    root, env, ids = world
    res = run_cli(
        root, "clips", "list", "--since", "2026-11-28", "--until", "2026-11-28", "--json", env=env
    )
    assert [c["id"] for c in json.loads(res.stdout)] == [ids[t] for t in IN_DAY]


def test_a_hold_to_a_date_holds_that_whole_day(
    world: tuple[Path, dict[str, str], dict[str, str]],
) -> None:
    root, env, ids = world
    hold = json.loads(
        run_cli(
            root,
            "hold",
            "add",
            "--camera",
            "front",
            "--from",
            "2026-11-28",
            "--to",
            "2026-11-28",
            "--reason",
            "claim",
            "--json",
            env=env,
        ).stdout
    )
    assert (hold["from"], hold["to"]) == ("2026-11-27T23:00:00Z", "2026-11-28T22:59:59Z")
    for t in LOCAL_TIMES:
        res = run_cli(root, "clips", "shred", ids[t], "--reason", "test", env=env, check=False)
        assert res.returncode == (7 if t in IN_DAY else 0), (t, res.stderr)


def test_a_request_to_a_date_asks_for_that_whole_day(
    world: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    root, env, ids = world
    rid = run_cli(
        root,
        "request",
        "add",
        "--requester",
        "A",
        "--org",
        "B",
        "--kind",
        "police",
        "--basis",
        "warrant",
        "--reason",
        "r",
        "--camera",
        "front",
        "--from",
        "2026-11-28",
        "--to",
        "2026-11-28",
        env=env,
    ).stdout.strip()
    shown = json.loads(run_cli(root, "request", "show", rid, "--json", env=env).stdout)
    assert [c["id"] for c in shown["clips_in_scope"]] == [ids[t] for t in IN_DAY]
    toml = tmp_path / "req.toml"
    toml.write_text(
        'requester = "A"\norganisation = "B"\nkind = "police"\nbasis = "warrant"\n'
        'reason = "r"\ncameras = ["front"]\nfrom = "2026-11-28"\n'
        'to = "2026-11-28"\n'
    )
    rid = run_cli(root, "request", "import", str(toml), env=env).stdout.strip()
    shown = json.loads(run_cli(root, "request", "show", rid, "--json", env=env).stdout)
    assert [c["id"] for c in shown["clips_in_scope"]] == [ids[t] for t in IN_DAY]
    # A time given in full is taken as given.
    rid = run_cli(
        root,
        "request",
        "add",
        "--requester",
        "A",
        "--org",
        "B",
        "--kind",
        "police",
        "--basis",
        "warrant",
        "--reason",
        "r",
        "--camera",
        "front",
        "--from",
        "2026-11-28",
        "--to",
        "2026-11-28T12:00",
        env=env,
    ).stdout.strip()
    shown = json.loads(run_cli(root, "request", "show", rid, "--json", env=env).stdout)
    assert shown["scope"]["to"] == "2026-11-28T11:00:00Z"
    assert [c["id"] for c in shown["clips_in_scope"]] == [ids[t] for t in IN_DAY[:2]]


@pytest.fixture
def berlin() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = ZONE
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_day_ends_follow_daylight_saving(berlin: None) -> None:
    # 29 March 2026: Berlin moves from UTC+1 to UTC+2; the day has 23 hours.
    start = parse_time("2026-03-29")
    end = parse_end_time("2026-03-29", inclusive=False)
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    last = parse_end_time("2026-03-29", inclusive=True)
    assert (end - last).total_seconds() == pytest.approx(1e-6)
    assert parse_end_time("2026-03-29T10:00", inclusive=True) == parse_time("2026-03-29T10:00")
    assert is_date_only("2026-03-29") and not is_date_only("2026-03-29T00:00")
