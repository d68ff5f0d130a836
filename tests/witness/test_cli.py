"""`ringfence witness ...` as real processes, against a real vault's log."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from tests.witness.conftest import run_main
from tests.witness.spec_check import check_cosignature
from vault.witness.protocol import Conflict, Cosigned, add_checkpoint_body, read_offline_reply


@pytest.fixture
def vault_root(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    return root


def _keys(root: Path) -> dict[str, str]:
    return json.loads(run_cli(root, "key", "show", "--json").stdout)


def _trust(root: Path, state: Path) -> str:
    """Trust the vault's device key; return the witness's verifier key."""
    keys = _keys(root)
    fresh = not state.exists()
    res = run_cli(
        root, "witness", "trust", keys["origin"], keys["device_verifier"], "--state", str(state)
    )
    assert ("witness verifier key: " in res.stderr) == fresh  # first use makes the folder
    show = json.loads(run_cli(root, "witness", "show", "--state", str(state), "--json").stdout)
    assert show["logs"] == [
        {
            "origin": keys["origin"],
            "keys": [keys["device_verifier"]],
            "size": None,
            "root": None,
            "cosigned_at": None,
        }
    ]
    return show["verifier_key"]


def _grow(root: Path, tmp_path: Path, name: str) -> str:
    run_cli(root, "camera", "add", name, str(tmp_path / f"drop-{name}"))
    return run_cli(root, "audit", "checkpoint").stdout


def _proof(root: Path, old: int, new: int) -> list[bytes]:
    from vault.service import Vault

    vault = Vault.open(root)
    try:
        return vault.audit.consistency_proof(old, new)
    finally:
        vault.close()


def _text(note: str) -> str:
    return note[: note.index("\n\n") + 1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_cosigns_a_vaults_checkpoints_and_stops_cleanly(
    vault_root: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    state = tmp_path / "witness"
    wkey = _trust(vault_root, state)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vault",
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
            str(state),
        ],
        env=cli_env(vault_root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert " listening on http://127.0.0.1:" in first, first + proc.stderr.read()
        assert proc.stdout.readline().strip() == f"witness verifier key: {wkey}"
        url = first.split("listening on ")[1].strip()
        host, port = url.removeprefix("http://").split("/")[0].split(":")

        def post(body: bytes) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            conn.request("POST", "/add-checkpoint", body=body)
            resp = conn.getresponse()
            out = resp.status, resp.read()
            conn.close()
            return out

        note = run_cli(vault_root, "audit", "checkpoint").stdout
        status, body = post(add_checkpoint_body(0, [], note))
        assert status == 200, body
        check_cosignature(_text(note), body.decode(), wkey)
        old_size = int(note.split("\n")[1])
        newer = _grow(vault_root, tmp_path, "front")
        new_size = int(newer.split("\n")[1])
        status, body = post(
            add_checkpoint_body(old_size, _proof(vault_root, old_size, new_size), newer)
        )
        assert status == 200, body
        check_cosignature(_text(newer), body.decode(), wkey)
        assert post(add_checkpoint_body(old_size, [], note)) == (409, f"{new_size}\n".encode())
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in err
        assert "witness stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _cosign(root: Path, state: Path, request: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "vault", "witness", "cosign", "--state", str(state)],
        input=request,
        capture_output=True,
        env=cli_env(root),
        timeout=120,
    )


def test_offline_cosign_through_files(vault_root: Path, tmp_path: Path) -> None:
    state = tmp_path / "witness"
    wkey = _trust(vault_root, state)
    note = run_cli(vault_root, "audit", "checkpoint").stdout
    request = tmp_path / "request.txt"  # what goes on the USB stick
    request.write_bytes(add_checkpoint_body(0, [], note))
    res = _cosign(vault_root, state, request.read_bytes())
    assert res.returncode == 0, res.stderr
    reply = read_offline_reply(res.stdout, note, [wkey])
    assert isinstance(reply, Cosigned)
    check_cosignature(_text(note), res.stdout.decode(), wkey)
    # Asking again from 0: the answer says the size to ask from, exit 7.
    newer = _grow(vault_root, tmp_path, "front")
    res = _cosign(vault_root, state, add_checkpoint_body(0, [], newer))
    assert res.returncode == 7, res.stderr
    size = int(note.split("\n")[1])
    assert read_offline_reply(res.stdout, newer, [wkey]) == Conflict(size)
    new_size = int(newer.split("\n")[1])
    res = _cosign(
        vault_root, state, add_checkpoint_body(size, _proof(vault_root, size, new_size), newer)
    )
    assert res.returncode == 0, res.stderr
    show = json.loads(
        run_cli(vault_root, "witness", "show", "--state", str(state), "--json").stdout
    )
    assert show["logs"][0]["size"] == new_size


def test_offline_refusals_write_nothing(vault_root: Path, tmp_path: Path) -> None:
    state = tmp_path / "witness"
    note = run_cli(vault_root, "audit", "checkpoint").stdout
    res = _cosign(vault_root, state, add_checkpoint_body(0, [], note))
    assert (res.returncode, res.stdout) == (3, b"")  # the log is not trusted yet
    assert b"does not know the log" in res.stderr
    _trust(vault_root, state)
    res = _cosign(vault_root, state, b"old 0\nnot a checkpoint")
    assert (res.returncode, res.stdout) == (2, b"")
    res = _cosign(vault_root, state, b"x" * ((1 << 20) + 1))
    assert (res.returncode, res.stdout) == (2, b"")
    assert b"Traceback" not in res.stderr


def test_trust_show_and_distrust(
    vault_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "witness"
    keys = _keys(vault_root)
    st = ["--state", str(state)]
    rc, _, err = run_main(capsys, vault_root, "witness", "trust", keys["origin"], "garbage", *st)
    assert rc == 2 and "verifier key" in err
    assert not state.exists()  # a refused key makes no witness
    for key in (keys["device_verifier"], keys["owner_verifier"]):
        assert run_main(capsys, vault_root, "witness", "trust", keys["origin"], key, *st)[0] == 0
    rc, text, _ = run_main(capsys, vault_root, "witness", "show", *st)
    assert f"log {keys['origin']}: never cosigned" in text
    assert keys["owner_verifier"] in text and keys["device_verifier"] in text
    rc, out, _ = run_main(
        capsys, vault_root, "witness", "distrust", keys["origin"], keys["owner_verifier"], *st
    )
    assert (rc, "removed 1 key " in out) == (0, True)
    rc, _, _ = run_main(
        capsys, vault_root, "witness", "distrust", keys["origin"], keys["owner_verifier"], *st
    )
    assert rc == 3


def test_serve_refuses_a_bad_listen_address(
    vault_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("7380", "localhost:", "host:99999"):
        rc, _, err = run_main(
            capsys, vault_root, "witness", "serve", "--listen", bad, "--state", str(tmp_path / "w")
        )
        assert rc == 2, (bad, err)


def test_serve_on_a_port_in_use_is_a_storage_error(
    vault_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc, _, err = run_main(
            capsys,
            vault_root,
            "witness",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--state",
            str(tmp_path / "w"),
        )
    assert rc == 10, err
    assert "cannot listen" in err
