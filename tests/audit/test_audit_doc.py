"""docs/audit.md stays true: its by-hand verifier checks a real proof, and its
example checkpoint verifies under the verifier key it shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner, open_checkpoint

from .conftest import ORIGIN

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text("utf-8"), re.S)


def test_the_by_hand_verifier_in_the_docs_works(
    log: AuditLog, fill: object, owner: NoteSigner, device: NoteSigner, tmp_path: Path
) -> None:
    fill(23)  # type: ignore[operator]
    log.checkpoint([device, owner])
    script = tmp_path / "check.py"
    script.write_text(_blocks("python")[0], "utf-8")
    for index in (0, 7, 22):
        (tmp_path / "entry.json").write_bytes(log.entry(index))
        (tmp_path / "proof.txt").write_text(log.prove(index), "utf-8")
        run = subprocess.run(
            [sys.executable, str(script), owner.verifier_key(), ORIGIN],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == f"entry {index} is in {ORIGIN} at size 23"
    # The proof is for entry 22, and it is of ORIGIN's log, not another one.
    run = subprocess.run(
        [sys.executable, str(script), owner.verifier_key(), ORIGIN + "-other"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "a checkpoint of another log" in run.stderr
    (tmp_path / "entry.json").write_bytes(log.entry(8))
    run = subprocess.run(
        [sys.executable, str(script), owner.verifier_key(), ORIGIN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "NOT in the log" in run.stderr


def test_the_example_checkpoint_in_the_docs_verifies() -> None:
    text = DOC.read_text("utf-8")
    note = next(b for b in _blocks("") if b.startswith("ringfence.vault/"))
    key = re.search(r"`(ringfence\.vault/\S+/owner\+[0-9a-f]{8}\+\S+)`", text)
    assert key is not None
    cp, names = open_checkpoint(note, [key.group(1)])
    assert cp.size == 1042 and names == ["ringfence.vault/01jdx3k8w2m4/owner"]
