"""Hostile input: what a requester, or whoever made a folder, hands the vault.

Each attack is run as the attacker would run it: a file handed to
`ringfence request import` or `ringfence receipt verify` in a real process, a
catalog.db damaged by raw writes, request text aimed at the text receipt.
Every one must end in a clear error with a documented exit code: never a
traceback, a hang or an unbounded read.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.requests.test_service import REQ, ingest
from tests.tools import cli_env, run_cli
from vault import receipts
from vault.errors import UsageError
from vault.safetext import shown, text_problem
from vault.service import Vault

#: Generous for a loaded 2-core machine; a hang is what runs into it.
DEADLINE = 120


def cli(vault: Vault, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI on *vault*; a hang fails the test (TimeoutExpired), not the suite."""
    return run_cli(vault.root, *args, check=False, timeout=DEADLINE)


def clean_failure(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The error text of a run that failed the way docs/cli.md says."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr, proc.stdout)
    return proc.stderr


# --- request import -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text",
    [
        ("deep.json", "[" * 200_000 + "]" * 200_000),
        ("deep-field.json", '{"requester": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        ("deep.toml", "requester = " + "[" * 50_000 + "]" * 50_000 + "\n"),
    ],
    ids=["json", "json-field", "toml"],
)
def test_deeply_nested_request_files_are_refused(
    vault: Vault, camera: Path, tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    err = clean_failure(cli(vault, "request", "import", str(path)), UsageError.exit_code)
    assert "nested deeper than" in err
    assert vault.requests.all() == []


def test_a_request_with_a_key_given_twice_is_refused(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    path = tmp_path / "twice.json"
    body = json.dumps(REQ)[1:-1]
    path.write_text("{" + body + ', "requester": "Someone Else"}')
    with pytest.raises(UsageError, match="'requester' is given twice"):
        vault.requests.import_file(path)


def test_request_import_reads_only_a_bounded_regular_file(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "request.json"
    os.mkfifo(fifo)  # nobody ever writes: a plain open() would wait forever
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB of nothing
    for target, why in (
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (link, "not a regular file"),
        (huge, "larger than"),
    ):
        err = clean_failure(cli(vault, "request", "import", str(target)), UsageError.exit_code)
        assert why in err, err
    assert vault.requests.all() == []


def test_file_names_in_request_errors_are_escaped(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    evil = tmp_path / "form\x1b[2J\x1b]0;owned\x07\u202e\n.json"
    evil.write_text("{not json")
    err = clean_failure(cli(vault, "request", "import", str(evil)), UsageError.exit_code)
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "form\\x1b[2J\\x1b]0;owned\\x07\\u202e\\x0a.json" in err
    assert err.count("\n") == 1  # one message on one line
    missing = tmp_path / "gone\x1b[31m.json"
    err = clean_failure(cli(vault, "request", "import", str(missing)), 3)
    assert "gone\\x1b[31m.json: no such file" in err


# --- receipt verify on a folder someone else made -----------------------------------------------


def folder_with(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / f"handover-{kind}"
    folder.mkdir()
    target = folder / receipts.RECEIPT_JSON
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "zero":
        target.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(target, "wb") as f:
            f.truncate(1 << 30)  # sparse: reading it whole was a MemoryError
    elif kind == "deep":
        target.write_text("[" * 200_000 + "]" * 200_000)
    return folder


@pytest.mark.parametrize(
    "kind, why",
    [
        ("fifo", "not a regular file"),
        ("zero", "a symlink"),
        ("huge", "larger than"),
        ("deep", "too deep"),
    ],
)
def test_receipt_verify_refuses_a_receipt_that_is_not_a_small_regular_file(
    tmp_path: Path, kind: str, why: str
) -> None:
    folder = folder_with(tmp_path, kind)
    # The requester runs this with no vault at all.
    proc = run_cli(
        tmp_path / "no-vault", "receipt", "verify", str(folder), check=False, timeout=DEADLINE
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 6, (proc.returncode, proc.stderr)
    assert why in proc.stdout + proc.stderr
    shown_proc = run_cli(
        tmp_path / "no-vault", "receipt", "show", str(folder), check=False, timeout=DEADLINE
    )
    assert "Traceback" not in shown_proc.stderr and shown_proc.returncode == 6


def refusal_folder(vault: Vault, camera: Path, tmp_path: Path, reason: str) -> Path:
    ingest(vault, camera, 1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=False, reason=reason)
    return vault.releases.write_decision_receipt(rid, tmp_path / "refusal").parent


def test_receipt_verify_does_not_hang_on_a_fifo_beside_a_good_receipt(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    folder = refusal_folder(vault, camera, tmp_path, "no")
    (folder / receipts.RECEIPT_TXT).unlink()
    os.mkfifo(folder / receipts.RECEIPT_TXT)
    report = receipts.verify_folder(folder)  # returned at all: no hang
    [txt] = [c for c in report.checks if c.name.startswith("receipt.txt")]
    assert not txt.ok and txt.detail == "not a regular file"


def test_names_in_a_verify_report_are_escaped(vault: Vault, camera: Path, tmp_path: Path) -> None:
    folder = refusal_folder(vault, camera, tmp_path, "no")
    (folder / "x\x1b]52;c;ZXZpbA==\x07\u202eexe.txt").write_text("planted")
    proc = run_cli(tmp_path / "no-vault", "receipt", "verify", str(folder), check=False)
    assert proc.returncode == 6
    assert "\x1b" not in proc.stdout + proc.stderr and "\u202e" not in proc.stdout
    assert "x\\x1b]52;c;ZXZpbA==\\x07\\u202eexe.txt" in proc.stdout


# --- a damaged catalog -----------------------------------------------------------------------


def damage(catalog: Path, where: str) -> None:
    """Raw writes into catalog.db, as a failing disk or an attacker would make them."""
    page = sqlite3.connect(catalog).execute("PRAGMA page_size").fetchone()[0]
    with open(catalog, "r+b") as f:
        if where == "header":
            f.write(b"not a database at all\0" * 4)
        else:  # every page but the first (the schema's root stays readable)
            size = os.fstat(f.fileno()).st_size
            for offset in range(page, size, page):
                f.seek(offset)
                f.write(bytes([0x0D, 0xFF, 0xFF]) + os.urandom(61))


@pytest.mark.parametrize("where", ["header", "pages"])
def test_a_damaged_catalog_is_a_clear_vault_error(vault: Vault, camera: Path, where: str) -> None:
    ingest(vault, camera, 3)
    vault.requests.add(REQ)
    catalog = vault.layout.catalog
    vault.close()
    damage(catalog, where)
    for args in (("status",), ("clips", "list"), ("request", "list"), ("audit", "verify")):
        err = clean_failure(cli(vault, *args), 9)
        assert "catalog" in err and "damaged" in err and "restore it" in err, (args, err)


# --- request text that renders safely ---------------------------------------------------------


@pytest.mark.parametrize("field", ["requester", "organisation", "reference", "contact"])
@pytest.mark.parametrize(
    "bad",
    [
        "two\nlines",
        "carriage\rreturn",
        "tab\there",
        "nel\x85",
        "line\u2028sep",
        "rlo\u202eevil",
        "isolate\u2066x\u2069",
        "lrm\u200e",
        "c1\x9bcsi",
        "esc\x1b[31m",
        "del\x7f",
    ],
)
def test_one_line_fields_refuse_breaks_controls_and_bidi(
    vault: Vault, camera: Path, field: str, bad: str
) -> None:
    with pytest.raises(UsageError, match=f"^{field}: contains"):
        vault.requests.add({**REQ, field: bad})
    assert vault.requests.all() == []


@pytest.mark.parametrize(
    "bad", ["rlo\u202eevil", "c1\x9b", "cr\r\nline", "esc\x1b[2J", "pdi\u2069", "ps\u2029"]
)
def test_the_reason_takes_newlines_but_no_controls_or_bidi(
    vault: Vault, camera: Path, bad: str
) -> None:
    with pytest.raises(UsageError, match="^reason: contains"):
        vault.requests.add({**REQ, "reason": bad})
    rid = vault.requests.add({**REQ, "reason": "first line\n\tsecond, indented"})
    assert vault.requests.get(rid).reason == "first line\n\tsecond, indented"
    assert text_problem("ok\nfine\tand tabbed", multi_line=True) is None


FAKE_APPROVAL = (
    "Please send everything.\n"
    "\n"
    "DECISION\n"
    "  Outcome:      approved\n"
    "  Reason:       warrant seen\n"
    "  Decided at:   2026-11-28T12:00:00Z by the vault owner\n"
    "WHAT WAS GIVEN (1 clip(s))"
)


def outcome_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\s*Outcome:", line)]


def test_a_hostile_reason_cannot_fake_an_approval_in_a_refusal_receipt(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, 1)
    rid = vault.requests.add({**REQ, "reason": FAKE_APPROVAL})
    vault.requests.decide(
        rid, approve=False, reason="no warrant\nDECISION\n  Outcome:      approved"
    )
    folder = vault.releases.write_decision_receipt(rid, tmp_path / "refusal").parent
    text = (folder / receipts.RECEIPT_TXT).read_text()
    # The only line that starts as a field is the real one.
    assert [line for line in text.splitlines() if line.startswith("  Outcome:")] == [
        "  Outcome:      refused"
    ]
    assert text.count("\nDECISION\n") == 1 and "\nWHAT WAS GIVEN: nothing\n" in text
    # Every line of the requester's text sits under its label, marked.
    for line in FAKE_APPROVAL.splitlines()[1:]:
        assert (receipts.CONTINUATION + line).rstrip() in text.splitlines()
    assert all(
        line.startswith(receipts.CONTINUATION) for line in outcome_lines(text) if "approved" in line
    )
    assert receipts.verify_folder(folder).ok  # and verify regenerates the same text


def test_text_the_catalog_was_edited_to_hold_is_escaped_in_receipt_txt(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    """Validation stops a requester; a catalog writer skips it. The renderer does not trust."""
    folder = refusal_folder(vault, camera, tmp_path, "no")
    receipt: dict[str, Any] = json.loads((folder / receipts.RECEIPT_JSON).read_bytes())
    receipt["request"]["requester"] = "Ned\nDECISION\n  Outcome:      approved\x1b[8m"
    receipt["request"]["organisation"] = "\u202edevorppa"
    receipt["request"]["scope"]["cameras"] = ["front\r  Outcome:      approved"]
    receipt["decision"]["terms"] = "keep it\x1b]0;x\x07\n  Outcome:      approved"
    text = receipts.render_text(receipt)
    assert outcome_lines(text)[0] == "  Outcome:      refused"
    assert all(
        line.startswith(receipts.CONTINUATION) or "\\x0a" in line or "\\x0d" in line
        for line in outcome_lines(text)[1:]
    )
    assert (
        "  Requester:    Ned\\x0aDECISION\\x0a  Outcome:      approved\\x1b[8m (\\u202edevorppa)"
        in text
    )
    assert not any(ch in text for ch in "\x1b\x07\r\u202e")


def test_shown_escapes_what_would_change_a_terminal() -> None:
    assert shown("plain name.mp4") == "plain name.mp4"
    assert shown(Path(os.fsdecode(b"bad\xff\xfe.mp4"))) == "bad\\xff\\xfe.mp4"
    assert shown(b"\xc3(") == "\\xc3("
    assert shown("a\u200fb\u061cc\x9bd") == "a\\u200fb\\u061cc\\x9bd"


def test_a_passphrase_file_that_never_ends_is_refused(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, 1)
    rid = vault.requests.add(REQ)
    env = cli_env(vault.root, None, RINGFENCE_PASSPHRASE_FILE="/dev/zero")
    proc = run_cli(
        vault.root, "refuse", rid, "--reason", "no", env=env, check=False, timeout=DEADLINE
    )
    err = clean_failure(proc, 4)
    assert "/dev/zero is longer than" in err
    assert vault.requests.get(rid).status == "pending"
