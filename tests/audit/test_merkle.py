"""Merkle hashing and proofs: RFC 6962 reference vectors and properties.

The vectors are the RFC 6962 test data published in transparency-dev/merkle
(testonly/constants.go and proof/verify_test.go): eight leaf inputs, the roots
of the trees of sizes 1..8, every complete subtree hash, and known inclusion
and consistency proofs, with the same corruptions that repository probes.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.audit import merkle
from vault.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_to_add,
    root,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAVES = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

ROOTS = [
    h(x)
    for x in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

NODES = [
    [
        h(x)
        for x in (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        )
    ],
    [
        h(x)
        for x in (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        )
    ],
    [
        h(x)
        for x in (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        )
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# (leaf index, tree size, proof): verify_test.go gives 1-based leaf numbers.
INCLUSION = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]

CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


class Tree:
    """An in-memory log storing perfect subtrees exactly as AuditLog does."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.leaves = [leaf_hash(x) for x in leaves]
        rng = CompactRange()
        for lh in self.leaves:
            for level, pos, value in rng.append(lh):
                self.nodes[level, pos] = value

    def get(self, level: int, pos: int) -> bytes:
        return self.nodes[level, pos]


REF = Tree(LEAVES)


def test_empty_tree_hash() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root(0, REF.get) == EMPTY_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    assert root_from_leaves(REF.leaves[:size]) == ROOTS[size - 1]
    assert root(size, REF.get) == ROOTS[size - 1]


def test_reference_subtree_hashes() -> None:
    for level, row in enumerate(NODES):
        for pos, value in enumerate(row):
            assert REF.get(level, pos) == value
    assert len(REF.nodes) == sum(len(row) for row in NODES)


def test_nodes_to_add_matches_compact_range() -> None:
    stored: dict[tuple[int, int], bytes] = {}
    for n, lh in enumerate(REF.leaves):
        for level, pos, value in nodes_to_add(n, lh, lambda lv, p: stored[lv, p]):
            stored[level, pos] = value
    assert stored == REF.nodes


def corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root_hash: bytes, leaf: bytes
) -> list[tuple[int, int, bytes, bytes, list[bytes]]]:
    """transparency-dev's corruptInclusionProof, as (index, size, root, leaf, proof)."""
    probes = [
        (index - 1, size, root_hash, leaf, proof),
        (index + 1, size, root_hash, leaf, proof),
        (index ^ 2, size, root_hash, leaf, proof),
        (index, size * 2, root_hash, leaf, proof),
        (index, size // 2, root_hash, leaf, proof),
        (index, size, root_hash, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root_hash, leaf, [*proof, b""]),
        (index, size, root_hash, leaf, [*proof, root_hash]),
        (index, size, root_hash, leaf, [b"", *proof]),
        (index, size, root_hash, leaf, [root_hash, *proof]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((index, size, root_hash, leaf, bad))
    if proof:
        probes.append((index, size, root_hash, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root_hash, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    leaf = leaf_hash(LEAVES[index])
    assert inclusion_proof(index, size, REF.get) == proof
    assert verify_inclusion(leaf, index, size, proof, ROOTS[size - 1])
    for probe in corrupt_inclusion(index, size, proof, ROOTS[size - 1], leaf):
        i, n, r, lf, p = probe
        assert not verify_inclusion(lf, i, n, p, r), probe


def test_inclusion_edge_cases() -> None:
    one = leaf_hash(b"data")
    assert verify_inclusion(one, 0, 1, [], one)
    assert not verify_inclusion(one, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], one)
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1)):
        assert not verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    # Nonsense never raises.
    assert not verify_inclusion(one, -1, 1, [], one)
    assert not verify_inclusion(one, True, 2, [one], one)  # type: ignore[arg-type]
    assert not verify_inclusion(one, 0, 2, ["x" * 32], one)  # type: ignore[list-item]
    assert not verify_inclusion(None, 0, 1, [], one)  # type: ignore[arg-type]


def corrupt_consistency(
    m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> list[tuple[int, int, bytes, bytes, list[bytes]]]:
    """transparency-dev's corruptConsistencyProof."""
    probes = [
        (m - 1, n, r1, r2, proof),
        (m + 1, n, r1, r2, proof),
        (m ^ 2, n, r1, r2, proof),
        (m, n * 2, r1, r2, proof),
        (m, n // 2, r1, r2, proof),
        (m, n, b"WrongRoot", r2, proof),
        (m, n, r1, b"WrongRoot", proof),
        (m, n, r2, r1, proof),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*proof, b""]),
        (m, n, r1, r2, [*proof, r1]),
        (m, n, r1, r2, [*proof, r2]),
        (m, n, r1, r2, [b"", *proof]),
        (m, n, r1, r2, [r1, *proof]),
        (m, n, r1, r2, [r2, *proof]),
        (m, n, r1, r2, [proof[0], *proof]),
        (m, n, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((m, n, r1, r2, bad))
    return probes


@pytest.mark.parametrize(("m", "n", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(m: int, n: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[m - 1], ROOTS[n - 1]
    assert consistency_proof(m, n, REF.get) == proof
    assert verify_consistency(m, n, r1, r2, proof)
    if proof:
        for probe in corrupt_consistency(m, n, r1, r2, proof):
            assert not verify_consistency(*probe), probe


def test_consistency_edge_cases() -> None:
    """RFC 9162: equal sizes need equal roots and no proof; the empty tree
    (whose root is SHA-256 of nothing) is a prefix of every tree."""
    r1, r2 = ROOTS[0], ROOTS[1]
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    assert verify_consistency(1, 1, r1, r1, [])
    assert not verify_consistency(1, 1, r1, r2, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, r2, [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOTS[4], [])  # not the empty tree's root
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, r1, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 0, r1, r2, [])  # time travel
    assert not verify_consistency(2, 1, r2, r1, [])
    assert not verify_consistency(1, 2, r1, r2, [])  # a real step needs a proof
    assert not verify_consistency(-1, 2, r1, r2, [])
    assert not verify_consistency(1, 2, "x", r2, [r1])  # type: ignore[arg-type]


def test_range_hash_refuses_ranges_no_tree_has() -> None:
    with pytest.raises(ValueError):
        merkle.range_hash(1, 3, REF.get)  # [1, 3) is never a subtree
    assert merkle.range_hash(4, 7, REF.get) == node_hash(REF.get(1, 2), REF.get(0, 6))


# --- properties over random sizes ----------------------------------------------

BIG = Tree([i.to_bytes(4, "big") for i in range(1100)])


def _flip(value: bytes, bit: int) -> bytes:
    i = bit % (8 * len(value))
    return value[: i // 8] + bytes([value[i // 8] ^ (1 << (i % 8))]) + value[i // 8 + 1 :]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies_and_every_mutation_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, len(BIG.leaves)), "size")
    index = data.draw(st.integers(0, size - 1), "index")
    leaf = BIG.leaves[index]
    head = root(size, BIG.get)
    proof = inclusion_proof(index, size, BIG.get)
    assert len(proof) <= (size - 1).bit_length()
    assert verify_inclusion(leaf, index, size, proof, head)

    bit = data.draw(st.integers(0, 255), "bit")
    assert not verify_inclusion(leaf, index, size, proof, _flip(head, bit))
    assert not verify_inclusion(_flip(leaf, bit), index, size, proof, head)
    other = data.draw(
        st.integers(0, size - 1).filter(lambda j: j != index) if size > 1 else st.just(size),
        "other index",
    )
    assert not verify_inclusion(leaf, other, size, proof, head)
    # Another size only means something with that size's own root.
    other_size = data.draw(
        st.integers(index + 1, len(BIG.leaves)).filter(lambda n: n != size)
        if index + 1 < len(BIG.leaves)
        else st.just(0),
        "other size",
    )
    if other_size:
        assert not verify_inclusion(leaf, index, other_size, proof, root(other_size, BIG.get))
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), "element")
        mutated = list(proof)
        mutated[k] = _flip(mutated[k], bit)
        assert not verify_inclusion(leaf, index, size, mutated, head)
        assert not verify_inclusion(leaf, index, size, proof[:-1], head)
        assert not verify_inclusion(leaf, index, size, proof[1:], head)
    assert not verify_inclusion(leaf, index, size, [*proof, head], head)
    assert not verify_inclusion(leaf, index, size, [head, *proof], head)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies_and_every_mutation_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(0, len(BIG.leaves)), "new size")
    old = data.draw(st.integers(0, new), "old size")
    r_old, r_new = root(old, BIG.get), root(new, BIG.get)
    proof = consistency_proof(old, new, BIG.get)
    assert verify_consistency(old, new, r_old, r_new, proof)

    bit = data.draw(st.integers(0, 255), "bit")
    assert not verify_consistency(old, new, _flip(r_old, bit), r_new, proof)
    if old == 0:
        return  # the empty tree is a prefix of every tree: nothing binds the new root
    assert not verify_consistency(old, new, r_old, _flip(r_new, bit), proof)
    assert not verify_consistency(old, new, r_old, r_new, [*proof, r_new])
    assert not verify_consistency(old, new, r_old, r_new, [r_old, *proof])
    other_old = data.draw(
        st.integers(1, new).filter(lambda m: m != old) if new > 1 else st.just(None),
        "other old size (the empty tree fits any)",
    )
    if other_old is not None and r_old != root(other_old, BIG.get):
        assert not verify_consistency(other_old, new, root(other_old, BIG.get), r_new, proof)
    other_new = data.draw(
        st.integers(old, len(BIG.leaves)).filter(lambda n: n != new), "other new size"
    )
    assert not verify_consistency(old, other_new, r_old, root(other_new, BIG.get), proof)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), "element")
        mutated = list(proof)
        mutated[k] = _flip(mutated[k], bit)
        assert not verify_consistency(old, new, r_old, r_new, mutated)
        assert not verify_consistency(old, new, r_old, r_new, proof[:-1])
        assert not verify_consistency(old, new, r_old, r_new, proof[1:])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70))
def test_compact_range_root_matches_recursive_definition(leaves: list[bytes]) -> None:
    def mth(items: list[bytes]) -> bytes:
        if not items:
            return EMPTY_ROOT
        if len(items) == 1:
            return leaf_hash(items[0])
        k = 1 << ((len(items) - 1).bit_length() - 1)
        return node_hash(mth(items[:k]), mth(items[k:]))

    tree = Tree(leaves)
    assert root_from_leaves(tree.leaves) == mth(leaves)
    assert root(len(leaves), tree.get) == mth(leaves)
    # Stored nodes: exactly the complete subtrees, one per level per 2**level leaves.
    assert len(tree.nodes) == sum(len(leaves) >> level for level in range(8))


def test_proof_sizes_at_a_million_entries_stay_logarithmic() -> None:
    n = 1_000_000
    nodes = merkle.proof_nodes(merkle.inclusion_ranges(123_457, n))
    assert len(nodes) <= 2 * n.bit_length()
    nodes = merkle.proof_nodes(merkle.consistency_ranges(654_321, n))
    assert len(nodes) <= 2 * n.bit_length()
    assert len(merkle.subtrees(0, n)) == n.bit_count()
