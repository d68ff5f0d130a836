"""`ringfence demo`: the whole product in one command.

A throwaway vault (passphrase ``demo``) with two synthetic cameras whose past
clips are already sealed, four sample requests (a police warrant, an insurer,
a neighbour's emergency claim, and a newspaper's request that was refused),
the real daemon running as a subprocess, a synthetic camera that keeps
recording while you watch, and the terminal app open on it all.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.synth import write_clip
from vault import age
from vault.hardening import child_env
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault
from vault.timeutil import utc_now

PASSPHRASE = "demo"  # noqa: S105 - the throwaway demo vault shows it on screen
KDF_LOG_N = 12
CAMERAS = ("front-door", "driveway")


def pattern(camera: str) -> str:
    return f"{camera}_%Y%m%dT%H%M%S%z"


def clip_name(camera: str, at: datetime) -> str:
    """A name the camera's pattern reads the capture time back from (UTC)."""
    return f"{camera}_{at.astimezone(UTC):%Y%m%dT%H%M%S}+0000.mp4"


@dataclass
class Demo:
    root: Path
    drops: dict[str, Path]
    requests: dict[str, str] = field(default_factory=dict)  # role -> request id

    @property
    def vault_dir(self) -> Path:
        return self.root / "vault"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def police_key(self) -> Path:
        return self.root / "police-age-key.txt"


def _schedule(now: datetime) -> list[tuple[str, datetime]]:
    """When the past clips were captured: the windows the sample requests ask about."""
    night = (now - timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    afternoon = (now - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    morning = (now - timedelta(hours=3)).replace(second=0, microsecond=0)
    older = (now - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    shots: list[tuple[str, datetime]] = []
    shots += [("front-door", night + timedelta(minutes=m)) for m in (5, 21, 47, 70, 91, 112)]
    shots += [("driveway", night + timedelta(minutes=m)) for m in (33, 95)]
    shots += [("driveway", afternoon + timedelta(minutes=m)) for m in (12, 64, 131, 199)]
    shots += [("front-door", afternoon + timedelta(minutes=m)) for m in (40, 150)]
    shots += [(cam, morning + timedelta(minutes=m)) for m in (10, 55, 100) for cam in CAMERAS]
    shots += [(cam, older + timedelta(minutes=m)) for m in (0, 240) for cam in CAMERAS]
    return shots


def build(
    root: Path,
    now: datetime | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    clip_seconds: float = 3.0,
    size: tuple[int, int] = (320, 240),
    log_n: int = KDF_LOG_N,
    say: Callable[[str], None] = print,
) -> Demo:
    """Create the demo vault in *root* (which must not exist or be empty).

    Tests pass a fixed *now* and *clock*, smaller clips and a cheaper KDF.
    """
    now = now or utc_now()
    local_now = now.astimezone()
    vault = Vault.init(root / "vault", PASSPHRASE, log_n=log_n, clock=clock or utc_now)
    try:
        drops = {cam: root / "drop" / cam for cam in CAMERAS}
        for cam, drop in drops.items():
            vault.cameras.add(cam, drop, pattern=pattern(cam))
        shots = _schedule(local_now)
        say(f"  recording {len(shots)} synthetic clips")
        for i, (cam, at) in enumerate(shots, 1):
            write_clip(
                drops[cam] / clip_name(cam, at),
                seconds=clip_seconds,
                width=size[0],
                height=size[1],
                label=cam.upper(),
                seed=i,
                start=at.replace(tzinfo=None),
            )
        say("  sealing them into the vault")
        quiet = logging.getLogger("ringfence")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
        finally:
            quiet.setLevel(level)
        demo = Demo(root, drops)
        demo.requests = _file_requests(vault, demo, local_now)
        say("  refusing the newspaper's request (signed with the owner's key)")
        vault.requests.decide(
            demo.requests["press"],
            approve=False,
            reason="A story about street parking is no reason to publish my "
            "neighbours' comings and goings.",
        )
    finally:
        vault.close()
    demo.exports.mkdir(mode=0o700, exist_ok=True)
    return demo


def _file_requests(vault: Vault, demo: Demo, now: datetime) -> dict[str, str]:
    night = (now - timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    afternoon = (now - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    police_identity = age.generate_identity()
    fd = os.open(demo.police_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"# the demo police force's age identity, to open age exports\n{police_identity}\n")
    ids = {}
    ids["police"] = vault.requests.add(
        {
            "requester": "DC Sam Patel",
            "organisation": "Metropolitan Police",
            "kind": "police",
            "basis": "warrant",
            "reference": "Warrant 4471/B (Highbury Magistrates)",
            "contact": "sam.patel@police.example",
            "reason": "Burglary at No. 14 between 02:00 and 04:00 last night. We are looking for "
            "people passing your front door in that window.",
            "cameras": ["front-door"],
            "from": night,
            "to": night + timedelta(hours=2),
            "deadline": now + timedelta(days=5),
            "recipient": str(police_identity.recipient),
        }
    )
    ids["insurer"] = vault.requests.add(
        {
            "requester": "Claims team",
            "organisation": "Northgate Insurance",
            "kind": "insurer",
            "basis": "consent",
            "reference": "Claim NG-2291-77",
            "contact": "claims@northgate.example",
            "reason": "Your car was scratched on the driveway yesterday afternoon; footage would "
            "support your claim.",
            "cameras": ["driveway"],
            "from": afternoon,
            "to": afternoon + timedelta(hours=4),
            "deadline": now + timedelta(hours=30),
        }
    )
    ids["neighbour"] = vault.requests.add(
        {
            "requester": "Alex Morgan",
            "organisation": "neighbour at No. 16",
            "kind": "neighbour",
            "basis": "emergency",
            "contact": "07700 900123",
            "reason": "Our dog Biscuit got out this morning. Did your cameras see which way "
            "she went? Please, it is urgent.",
            "cameras": list(CAMERAS),
            "from": now - timedelta(hours=3, minutes=5),
            "to": now - timedelta(minutes=30),
            "deadline": now + timedelta(hours=6),
        }
    )
    ids["press"] = vault.requests.add(
        {
            "requester": "Data desk",
            "organisation": "The Local Bugle",
            "kind": "other",
            "basis": "consent",
            "reference": "Story 118",
            "reason": "A story about parking on residential streets.",
            "cameras": ["front-door"],
            "from": afternoon - timedelta(hours=6),
            "to": afternoon + timedelta(hours=6),
        }
    )
    return ids


class SyntheticCamera(threading.Thread):
    """Records a new clip every *every* seconds into the drop folders, in turn."""

    def __init__(self, drops: dict[str, Path], every: float, clip_seconds: float = 3.0) -> None:
        super().__init__(name="synthetic-camera", daemon=True)
        self.drops = drops
        self.every = every
        self.clip_seconds = clip_seconds
        self.stopped = threading.Event()
        self.recorded = 0

    def run(self) -> None:
        cams = list(self.drops)
        last = datetime.min.replace(tzinfo=UTC)
        while not self.stopped.wait(self.every):
            cam = cams[self.recorded % len(cams)]
            # Names carry the capture time to the second: never reuse one.
            at = last = max(utc_now().replace(microsecond=0), last + timedelta(seconds=1))
            with contextlib.suppress(OSError, RuntimeError):
                write_clip(
                    self.drops[cam] / clip_name(cam, at),
                    seconds=self.clip_seconds,
                    label=cam.upper(),
                    seed=1000 + self.recorded,
                    start=at.astimezone().replace(tzinfo=None),
                )
                self.recorded += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def start_daemon(demo: Demo) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in child_env().items() if not k.startswith("RINGFENCE_")}
    env["RINGFENCE_LOG"] = "WARNING"
    log = open(demo.root / "daemon.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault",
                "--vault",
                str(demo.vault_dir),
                "daemon",
                "--settle",
                "1",
                "--rescan",
                "5",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def stop_daemon(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    """The `demo` command."""
    from tui.app import RingfenceApp, tune_gc, tune_threads
    from tui.graphics import detect

    if args.dir:
        root = Path(args.dir).expanduser().absolute()
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="ringfence-demo-"))

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say(f"ringfence demo: preparing a throwaway vault in {root}")
    demo = build(root, say=say)
    daemon = start_daemon(demo)
    camera = SyntheticCamera(demo.drops, args.every)
    camera.start()
    vault = Vault.open(demo.vault_dir)
    say("  starting the daemon")
    deadline = time.monotonic() + 20
    while (
        not vault.status.daemon_running() and time.monotonic() < deadline and daemon.poll() is None
    ):
        time.sleep(0.1)
    notice = (
        f"DEMO vault in {root}. Passphrase: {PASSPHRASE}. A synthetic camera records "
        f"a clip every {args.every:g} s; the daemon seals it."
    )
    app = RingfenceApp(
        vault,
        export_dir=demo.exports,
        notice=notice,
        passphrase_hint=f"This is the demo vault: its passphrase is “{PASSPHRASE}”.",
        graphics=detect(),
    )
    try:
        tune_gc()
        tune_threads()
        app.run()
    finally:
        camera.stop()
        stop_daemon(daemon)
        vault.close()
    if args.clean:
        shutil.rmtree(root, ignore_errors=True)
        say("ringfence demo: removed the demo folder.")
    else:
        say(
            f"ringfence demo: the vault, its exports and the daemon log stay in {root}\n"
            f"  exports:        {demo.exports}\n"
            f"  police age key: {demo.police_key}\n"
            f"  verify one:     ringfence receipt verify {demo.exports}/<folder>\n"
            f"  remove it all:  rm -rf {root}"
        )
    return 0
