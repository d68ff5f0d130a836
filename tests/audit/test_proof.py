"""tlog-proof text and the offline verifier a receipt holder runs."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit.merkle import CompactRange, inclusion_proof, leaf_hash
from vault.audit.note import Checkpoint, NoteSigner, sign_note
from vault.audit.proof import (
    HEADER,
    InclusionProof,
    ProofError,
    format_inclusion_proof,
    parse_inclusion_proof,
)
from vault.audit.verify import verify_checkpoint_consistency, verify_entry_inclusion

ORIGIN = "example.com/log"
SIGNER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
WITNESS = NoteSigner("witness.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
ENTRIES = [f'{{"index":{i}}}'.encode() for i in range(13)]


def _tree(n: int) -> tuple[dict[tuple[int, int], bytes], bytes]:
    nodes: dict[tuple[int, int], bytes] = {}
    rng = CompactRange()
    for e in ENTRIES[:n]:
        for level, pos, h in rng.append(leaf_hash(e)):
            nodes[level, pos] = h
    return nodes, rng.root()


def _note(n: int, signers: list[NoteSigner] | None = None) -> str:
    _, root = _tree(n)
    return sign_note(Checkpoint(ORIGIN, n, root).body(), signers or [SIGNER])


def _proof(index: int, n: int, note: str | None = None) -> str:
    nodes, _ = _tree(n)
    hashes = inclusion_proof(index, n, lambda lv, p: nodes[lv, p])
    return format_inclusion_proof(index, hashes, note or _note(n))


def test_format_matches_the_spec_layout() -> None:
    text = _proof(5, 13)
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[1] == "index 5"
    assert all(len(base64.b64decode(x)) == 32 for x in lines[2:6])
    assert lines[6] == ""
    assert text.endswith(_note(13))
    parsed = parse_inclusion_proof(text)
    assert parsed.index == 5 and len(parsed.hashes) == 4 and parsed.checkpoint == _note(13)
    assert parsed.extra is None
    assert format_inclusion_proof(5, list(parsed.hashes), parsed.checkpoint) == text


def test_extra_data_round_trips() -> None:
    text = format_inclusion_proof(0, [], _note(1), extra=b"context")
    assert text.split("\n")[1] == "extra " + base64.b64encode(b"context").decode()
    assert parse_inclusion_proof(text) == InclusionProof(0, (), _note(1), b"context")


GOOD = _proof(2, 5)


@pytest.mark.parametrize(
    "text",
    [
        GOOD.replace(HEADER, "c2sp.org/tlog-proof@v2"),
        GOOD.replace("index 2", "index 02"),
        GOOD.replace("index 2", "index -2"),
        GOOD.replace("index 2", "index  2"),
        GOOD.replace("index 2", "Index 2"),
        GOOD.replace("index 2\n", ""),
        GOOD.replace("index 2", "extra !!\nindex 2"),
        GOOD.replace("index 2", "index 2\nAAAA"),
        GOOD.replace("=\n", "\n", 1),
        GOOD.replace("\n\n", "\n", 1),
        GOOD.split("\n\n")[0] + "\n\n",
        HEADER
        + "\nindex 0\n"
        + (base64.b64encode(bytes(32)).decode() + "\n") * 64
        + "\n"
        + _note(1),
    ],
)
def test_malformed_proofs_are_refused(text: str) -> None:
    with pytest.raises(ProofError):
        parse_inclusion_proof(text)


def test_every_entry_verifies_offline() -> None:
    for n in range(1, 14):
        for i in range(n):
            result = verify_entry_inclusion(ENTRIES[i], _proof(i, n), [SIGNER.verifier_key()])
            assert result.ok, result.reason
            assert result.index == i and result.size == n and result.signers == (ORIGIN,)


@pytest.mark.parametrize(
    ("entry", "proof", "keys", "reason"),
    [
        (ENTRIES[3], GOOD, [SIGNER.verifier_key()], "not included"),
        (ENTRIES[2] + b" ", GOOD, [SIGNER.verifier_key()], "not included"),
        (ENTRIES[2], GOOD.replace("index 2", "index 3"), [SIGNER.verifier_key()], "not included"),
        (ENTRIES[2], GOOD.replace("index 2", "index 5"), [SIGNER.verifier_key()], "beyond"),
        (ENTRIES[2], GOOD, [WITNESS.verifier_key()], "no signature from a trusted key"),
        (ENTRIES[2], GOOD, [], "no trusted verifier key"),
        (ENTRIES[2], GOOD, ["not a key"], "verifier key"),
        (ENTRIES[2], GOOD.replace("\n5\n", "\n6\n"), [SIGNER.verifier_key()], "does not verify"),
        (ENTRIES[2], "garbage", [SIGNER.verifier_key()], "tlog-proof"),
        (ENTRIES[2], None, [SIGNER.verifier_key()], "expected text"),
        (ENTRIES[2], GOOD, [None], "verifier key"),
        (ENTRIES[2], GOOD, 42, "unreadable"),
        ("text", GOOD, [SIGNER.verifier_key()], "bytes"),
    ],
)
def test_bad_proofs_fail_with_a_reason_and_never_raise(
    entry: bytes, proof: str, keys: list[str], reason: str
) -> None:
    result = verify_entry_inclusion(entry, proof, keys)
    assert not result.ok and not result
    assert reason in result.reason


def test_required_signer() -> None:
    note = _note(5, [SIGNER, WITNESS])
    keys = [SIGNER.verifier_key(), WITNESS.verifier_key()]
    assert verify_entry_inclusion(ENTRIES[2], _proof(2, 5, note), keys, "witness.example").ok
    only_log = _proof(2, 5)
    result = verify_entry_inclusion(ENTRIES[2], only_log, keys, required_signer="witness.example")
    assert not result.ok and "not signed by witness.example" in result.reason


def test_checkpoint_consistency() -> None:
    keys = [SIGNER.verifier_key()]
    nodes, _ = _tree(13)
    from vault.audit.merkle import consistency_proof

    proof = consistency_proof(5, 13, lambda lv, p: nodes[lv, p])
    assert verify_checkpoint_consistency(_note(5), _note(13), proof, keys).ok
    assert verify_checkpoint_consistency(_note(13), _note(13), [], keys).ok
    assert not verify_checkpoint_consistency(_note(5), _note(13), proof[:-1], keys).ok
    assert "smaller" in verify_checkpoint_consistency(_note(13), _note(5), proof, keys).reason
    other = sign_note(Checkpoint("other.example/log", 13, _tree(13)[1]).body(), [SIGNER])
    assert "different logs" in verify_checkpoint_consistency(_note(5), other, proof, keys).reason
    assert not verify_checkpoint_consistency(
        _note(5), _note(13), proof, [WITNESS.verifier_key()]
    ).ok
    assert not verify_checkpoint_consistency("junk", _note(13), proof, keys).ok


def test_checkpoint_of_another_origin_is_refused() -> None:
    """tlog-proof: a proof holds for the log the verifier expects, not for any
    log the trusted key signed. Same key, same tree, another origin line."""
    keys = [SIGNER.verifier_key()]
    _, root = _tree(5)
    other = sign_note(Checkpoint("example.com/other-log", 5, root).body(), [SIGNER])
    proof = _proof(2, 5, other)
    assert verify_entry_inclusion(ENTRIES[2], proof, keys).ok  # no origin asked for
    result = verify_entry_inclusion(ENTRIES[2], proof, keys, origin=ORIGIN)
    assert not result.ok and "another log" in result.reason
    assert verify_entry_inclusion(ENTRIES[2], _proof(2, 5), keys, origin=ORIGIN).ok
    # The origin must be equal, not a prefix or a longer name of it.
    for near in (ORIGIN + "/", ORIGIN[:-1], ORIGIN.upper()):
        assert not verify_entry_inclusion(ENTRIES[2], _proof(2, 5), keys, origin=near).ok


def test_consistency_from_the_empty_tree_is_refused() -> None:
    """A proof from size 0 would say yes for any log, so it is refused."""
    keys = [SIGNER.verifier_key()]
    result = verify_checkpoint_consistency(_note(0), _note(13), [], keys)
    assert not result.ok and "empty tree" in result.reason
    assert verify_checkpoint_consistency(_note(0), _note(0), [], keys).ok  # same empty log
