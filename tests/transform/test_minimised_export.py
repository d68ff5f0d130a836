"""Minimised exports end to end: a real H.264 clip with sound, cut to a window
that starts and ends inside it, sound removed, a wall-clock track added; the
folder checked with ffprobe, sha256sum and openssl, as an investigator would."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.tools import require_tool
from vault import receipts
from vault.errors import IntegrityError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.receipts import handover
from vault.service import Vault
from vault.transform.plan import Choices, Cut

CAPTURED = datetime(2026, 11, 27, 21, 59, 55, tzinfo=UTC)
PATTERN = "front_%Y%m%dT%H%M%S%z"


def make_clip(path: Path, *, seconds: int = 10, gop: int = 20, audio: bool = True) -> None:
    """A real H.264 clip, 10 fps, a keyframe every *gop* frames, with AAC sound."""
    ffmpeg = require_tool("ffmpeg")
    args = [ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]
    args += [
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-bf",
        "0",
        "-pix_fmt",
        "yuv420p",
    ]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    subprocess.run([*args, str(path)], check=True)


def probe(path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [
            require_tool("ffprobe"),
            "-v",
            "error",
            *extra,
            "-count_packets",
            "-show_streams",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


@pytest.fixture
def world(vault: Vault, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    drop = tmp_path / "drop"
    drop.mkdir()
    vault.cameras.add("front", drop, pattern=PATTERN)
    make_clip(drop / f"{CAPTURED.strftime(PATTERN)}.mp4")
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    (clip,) = vault.clips.all()
    rid = vault.requests.add(
        {
            "requester": "DC Smith",
            "organisation": "Met",
            "kind": "police",
            "basis": "warrant",
            "reason": "burglary",
            "cameras": ["front"],
            # 21:59:58 to 22:00:02: starts and ends inside the clip (21:59:55 to 22:00:05).
            "from": "2026-11-27T21:59:58Z",
            "to": "2026-11-27T22:00:02Z",
        }
    )
    return {"vault": vault, "rid": rid, "clip": clip, "drop": drop}


def test_the_plan_shows_the_disclosed_window_before_signing(world: dict) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    before = vault.audit.size()
    release = vault.requests.plan_release(rid, choices=Choices(strip_audio=True))
    assert vault.audit.size() == before  # planning signs and logs nothing
    (clip,) = release.clips
    trim, strip, clock = clip.operations
    # Asked 3 s into the clip; keyframes every 2 s, so the cut starts at 2 s.
    assert trim["requested"] == ["2026-11-27T21:59:58.000Z", "2026-11-27T22:00:02.000Z"]
    assert trim["disclosed"] == ["2026-11-27T21:59:57.000Z", "2026-11-27T22:00:02.000Z"]
    assert trim["frames"] == 50  # 21:59:57 to 22:00:02 at 10 fps
    assert strip == {"op": "strip-audio"}
    assert clock == {"op": "time-track", "start": "2026-11-27T21:59:57.000Z"}


def test_a_cut_export_has_no_hidden_frames_no_sound_and_checks_with_stock_tools(
    world: dict, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    vault.requests.decide(rid, approve=True, reason="ok", choices=Choices(strip_audio=True))
    out = tmp_path / "out"
    result = vault.releases.export(rid, out)
    (entry,) = result.receipt["clips"]
    delivered = entry["delivered"]
    video = out / delivered["file"]
    assert delivered["derived_from"] == {"clip": world["clip"].id, "sha256": world["clip"].sha256}
    assert [o["op"] for o in delivered["operations"]] == ["trim", "strip-audio", "time-track"]
    frames = delivered["operations"][0]["frames"]

    shown = probe(video)
    raw = probe(video, "-ignore_editlist", "1")
    kinds = sorted(s["codec_type"] for s in shown["streams"])
    assert kinds == ["subtitle", "video"]  # no audio stream
    v = next(s for s in shown["streams"] if s["codec_type"] == "video")
    v_raw = next(s for s in raw["streams"] if s["codec_type"] == "video")
    # Edit lists ignored or not, the packets are those the owner was shown.
    assert int(v["nb_read_packets"]) == int(v_raw["nb_read_packets"]) == frames == 50
    assert float(v["start_time"]) == 0.0
    # Within one GOP (2 s) of the request, and never less than asked.
    disclosed = delivered["operations"][0]["disclosed"]
    start = datetime.fromisoformat(disclosed[0].replace("Z", "+00:00"))
    asked = datetime(2026, 11, 27, 21, 59, 58, tzinfo=UTC)
    assert asked - timedelta(seconds=2) <= start <= asked

    text = subprocess.run(
        [
            require_tool("ffmpeg"),
            "-loglevel",
            "error",
            "-i",
            str(video),
            "-map",
            "0:s",
            "-f",
            "srt",
            "-",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "2026-11-27T21:59:57.000Z" in text and "2026-11-27T22:00:01.000Z" in text

    sums = subprocess.run(
        [require_tool("sha256sum"), "-c", handover.SUMS], cwd=out, capture_output=True, text=True
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert delivered["file"] in sums.stdout
    readme = (out / handover.README).read_text()
    command = handover.OPENSSL_VERIFY
    assert command in readme
    ok = subprocess.run(
        [require_tool("openssl"), *command.split()[1:]], cwd=out, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok.stderr
    (out / handover.SIGNED).write_bytes(
        (out / handover.SIGNED).read_bytes().replace(b"burglary", b"burglarz")
    )
    bad = subprocess.run(
        [require_tool("openssl"), *command.split()[1:]], cwd=out, capture_output=True, text=True
    )
    assert bad.returncode != 0
    (out / handover.SIGNED).write_bytes(handover.signed_bytes(result.receipt))
    report = receipts.verify_folder(out)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert "21:59:57" in readme and "sound removed" in readme


def test_whole_clips_release_the_original_unchanged(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    vault.requests.decide(rid, approve=True, reason="ok", choices=Choices(cut=Cut.WHOLE))
    result = vault.releases.export(rid, tmp_path / "out")
    (entry,) = result.receipt["clips"]
    assert entry["delivered"]["sha256"] == world["clip"].sha256
    assert "operations" not in entry["delivered"]
    assert receipts.verify_folder(tmp_path / "out").ok


def test_a_camera_that_never_exports_sound(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    vault.cameras.change("front", export_audio=False)
    # Even whole clips and without --strip-audio: the camera's setting wins.
    release = vault.requests.plan_release(rid, choices=Choices(cut=Cut.WHOLE))
    assert [o["op"] for o in release.clips[0].operations] == ["strip-audio", "time-track"]
    vault.requests.decide(rid, approve=True, reason="ok", release=release)
    result = vault.releases.export(rid, tmp_path / "out")
    video = tmp_path / "out" / result.receipt["clips"][0]["delivered"]["file"]
    assert "audio" not in {s["codec_type"] for s in probe(video)["streams"]}


def test_an_exact_cut_re_encodes_to_the_window(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    vault.requests.decide(rid, approve=True, reason="ok", choices=Choices(cut=Cut.EXACT))
    result = vault.releases.export(rid, tmp_path / "out")
    trim = result.receipt["clips"][0]["delivered"]["operations"][0]
    assert trim["mode"] == "exact"
    assert (
        trim["disclosed"]
        == trim["requested"]
        == ["2026-11-27T21:59:58.000Z", "2026-11-27T22:00:02.000Z"]
    )
    video = tmp_path / "out" / result.receipt["clips"][0]["delivered"]["file"]
    v = next(
        s for s in probe(video, "-ignore_editlist", "1")["streams"] if s["codec_type"] == "video"
    )
    assert int(v["nb_read_packets"]) == trim["frames"] == 40


def _catalog(vault: Vault) -> sqlite3.Connection:
    return sqlite3.connect(vault.ctx.layout.catalog, isolation_level=None)


@pytest.mark.parametrize("edit", ["whole", "keep-sound", "wider"])
def test_an_export_cannot_release_more_than_the_owner_signed(
    world: dict, tmp_path: Path, edit: str
) -> None:  # type: ignore[type-arg]
    """The attacker can write the catalog (no passphrase): they turn the signed
    plan into whole clips, drop the sound removal, or widen the window."""
    vault, rid = world["vault"], world["rid"]
    vault.requests.decide(rid, approve=True, reason="ok", choices=Choices(strip_audio=True))
    db = _catalog(vault)
    (text,) = db.execute("SELECT release FROM decision WHERE request_id = ?", (rid,)).fetchone()
    plan = json.loads(text)
    if edit == "whole":
        plan["choices"]["cut"] = "whole"
        plan["clips"][0]["operations"] = []
    elif edit == "keep-sound":
        plan["clips"][0]["operations"] = [
            o for o in plan["clips"][0]["operations"] if o["op"] != "strip-audio"
        ]
    else:
        plan["clips"][0]["operations"][0]["requested"][0] = "2026-11-27T21:59:55.000Z"
        plan["clips"][0]["operations"][0]["disclosed"][0] = "2026-11-27T21:59:55.000Z"
    db.execute(
        "UPDATE decision SET release = ? WHERE request_id = ?",
        (json.dumps(plan, separators=(",", ":"), sort_keys=True), rid),
    )
    db.close()
    before = vault.audit.size()
    with pytest.raises(IntegrityError, match="does not carry the owner's valid signature"):
        vault.releases.export(rid, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert vault.audit.size() == before  # nothing was logged as released


def test_a_data_subject_request_defaults_to_no_sound_and_blurred_faces(
    world: dict, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    """Until face blurring is installed, the choice is signed and the export
    refuses before decrypting anything, with a message that says why."""
    from vault.errors import PolicyError

    vault = world["vault"]
    rid = vault.requests.add(
        {
            "requester": "A. Neighbour",
            "organisation": "self",
            "kind": "data-subject",
            "basis": "data-subject-access",
            "reason": "footage of me",
            "cameras": ["front"],
            "from": "2026-11-27T21:59:58Z",
            "to": "2026-11-27T22:00:02Z",
        }
    )
    receipt = vault.requests.decide(rid, approve=True, reason="their right of access").receipt
    assert receipt["release"]["choices"] == {
        "cut": "remux",
        "strip_audio": True,
        "blur_faces": True,
    }
    ops = [o["op"] for o in receipt["release"]["clips"][0]["operations"]]
    assert ops == ["trim", "strip-audio", "blur-faces", "time-track"]
    from vault.transform import steps

    if "blur-faces" in steps.available():
        pytest.skip("face blurring is installed: its own tests cover the export")
    before = vault.audit.size()
    with pytest.raises(PolicyError, match="face blurring is not available"):
        vault.releases.export(rid, tmp_path / "out")
    assert vault.audit.size() == before and not (tmp_path / "out").exists()


def test_approve_prints_the_disclosed_window_before_signing(world: dict) -> None:  # type: ignore[type-arg]
    from tests.tools import run_cli

    vault, rid = world["vault"], world["rid"]
    root = vault.ctx.layout.root
    dry = run_cli(root, "approve", rid, "--reason", "ok", "--strip-audio", "--dry-run")
    assert "released 2026-11-27T21:59:57.000Z to 2026-11-27T22:00:02.000Z" in dry.stdout
    assert "nothing was signed" in dry.stdout
    assert vault.requests.get(rid).status == "pending"
    as_json = json.loads(
        run_cli(root, "approve", rid, "--reason", "ok", "--exact", "--dry-run", "--json").stdout
    )
    assert as_json["signed"] is False
    assert as_json["release"]["clips"][0]["operations"][0]["mode"] == "exact"
    done = run_cli(root, "approve", rid, "--reason", "ok", "--keep-audio")
    plan_at = done.stdout.index("released 2026-11-27T21:59:57.000Z")
    assert plan_at < done.stdout.index("approved")
    assert vault.requests.get(rid).status == "approved"
