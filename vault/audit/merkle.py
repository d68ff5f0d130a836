"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Pure functions: no I/O. The tree is never held whole. A log stores the hashes
of its *perfect aligned subtrees*: node ``(level, pos)`` is the hash of the
``2**level`` leaves ``[pos * 2**level, (pos + 1) * 2**level)``. Every subtree
hash a proof needs, MTH(D[a:b]), covers a range whose start is a multiple of a
power of two at least as large as the range, so it splits into at most
log2(n) such perfect subtrees. ``get_subtree(level, pos) -> bytes`` is then the
only storage access the functions here need, and a proof over a million leaves
touches a few dozen nodes.

The verifiers follow RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
step by step. They never raise on a bad proof: malformed input is simply a
proof that does not verify.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

HASH_SIZE = 32

#: MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1).
EMPTY_ROOT = sha256(b"").digest()

GetSubtree = Callable[[int, int], bytes]
Node = tuple[int, int]  # (level, pos)


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node."""
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtrees(start: int, end: int) -> list[Node]:
    """The perfect aligned subtrees that tile ``[start, end)``, left to right."""
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    out: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        out.append((level, start >> level))
        start += 1 << level
    return out


def _check_aligned(start: int, end: int) -> None:
    # MTH(D[start:end]) is the right fold of the tiling only when start is a
    # multiple of the smallest power of two >= the range's length.
    if not 0 <= start < end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    span = 1 << (end - start - 1).bit_length()
    if start % span:
        raise ValueError(f"[{start}, {end}) is not a subtree of any Merkle tree")


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine subtree hashes (left to right, largest first) into their MTH."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(start: int, end: int, get_subtree: GetSubtree) -> bytes:
    """MTH(D[start:end]) for a range that is a subtree of some tree."""
    _check_aligned(start, end)
    return fold([get_subtree(level, pos) for level, pos in subtrees(start, end)])


def root(size: int, get_subtree: GetSubtree) -> bytes:
    """The tree head of the first *size* leaves, in O(log size) lookups."""
    if size < 0:
        raise ValueError("negative tree size")
    if size == 0:
        return EMPTY_ROOT
    return range_hash(0, size, get_subtree)


def root_from_leaves(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (O(n) time, O(log n) memory)."""
    rng = CompactRange()
    for h in leaf_hashes:
        rng.append(h)
    return rng.root()


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH form PATH(index, D[size]), leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    a, b = 0, size
    while b - a > 1:
        k = _split(b - a)
        if index < a + k:
            out.append((a + k, b))
            b = a + k
        else:
            out.append((a, a + k))
            a += k
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH form PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1).

    Empty when old_size == new_size or old_size == 0: those are consistent
    with no proof at all.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    out: list[tuple[int, int]] = []
    a, b, m, whole = 0, new_size, old_size, True
    while m != b - a:
        k = _split(b - a)
        if m <= k:
            out.append((a + k, b))
            b = a + k
        else:
            out.append((a, a + k))
            a += k
            m -= k
            whole = False
    if not whole:
        out.append((a, b))
    out.reverse()
    return out


def proof_nodes(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    """Every stored node that the hashes of *ranges* are built from."""
    nodes: list[Node] = []
    for a, b in ranges:
        nodes.extend(subtrees(a, b))
    return nodes


def inclusion_proof(index: int, size: int, get_subtree: GetSubtree) -> list[bytes]:
    """The RFC 6962 audit path of leaf *index* in the tree of *size* leaves."""
    return [range_hash(a, b, get_subtree) for a, b in inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, get_subtree: GetSubtree) -> list[bytes]:
    """The RFC 6962 consistency proof between two sizes of one log."""
    return [range_hash(a, b, get_subtree) for a, b in consistency_ranges(old_size, new_size)]


def nodes_to_add(
    size_before: int, new_leaf_hash: bytes, get_subtree: GetSubtree
) -> list[tuple[int, int, bytes]]:
    """The nodes that appending one leaf completes: ``(0, size_before)`` and
    every parent whose right child it finishes, lowest first."""
    level, pos, h = 0, size_before, new_leaf_hash
    out = [(0, pos, h)]
    while pos & 1:
        h = node_hash(get_subtree(level, pos - 1), h)
        level += 1
        pos >>= 1
        out.append((level, pos, h))
    return out


class CompactRange:
    """The perfect subtrees of the first ``size`` leaves: a log's frontier.

    Holds one hash per set bit of ``size`` (largest subtree first), so it is
    O(log n) in memory, and appending a leaf costs one hash amortized.
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError("a compact range holds one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    @classmethod
    def load(cls, size: int, get_subtree: GetSubtree) -> CompactRange:
        return cls(size, [get_subtree(level, pos) for level, pos in subtrees(0, size)])

    def nodes(self) -> list[Node]:
        return subtrees(0, self.size)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the nodes it completes, as :func:`nodes_to_add`."""
        level, pos, h = 0, self.size, leaf
        out = [(0, pos, h)]
        stack = self.hashes
        while pos & 1:
            h = node_hash(stack.pop(), h)
            level += 1
            pos >>= 1
            out.append((level, pos, h))
        stack.append(h)
        self.size += 1
        return out

    def root(self) -> bytes:
        return fold(self.hashes)

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: is *leaf* the hash at *index* of the tree *root_hash*?"""
    try:
        if not (_is_size(index) and _is_size(size) and _is_hash(leaf) and _is_hash(root_hash)):
            return False
        if index >= size or not all(_is_hash(p) for p in proof):
            return False
        fn, sn, r = index, size - 1, leaf
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                if not fn & 1:
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                r = node_hash(r, p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == root_hash
    except (TypeError, ValueError):
        return False


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does the tree *new_root* extend the tree *old_root*?

    Edge cases: equal sizes need an empty proof and equal roots; the empty
    tree (old_size 0, whose root is SHA-256 of nothing) is a prefix of every
    tree and needs an empty proof.
    """
    try:
        if not (_is_size(old_size) and _is_size(new_size)):
            return False
        if not (_is_hash(old_root) and _is_hash(new_root)) or old_size > new_size:
            return False
        if not all(_is_hash(p) for p in proof):
            return False
        if old_size == new_size:
            return len(proof) == 0 and old_root == new_root
        if old_size == 0:
            return len(proof) == 0 and old_root == EMPTY_ROOT
        if len(proof) == 0:
            return False
        path = list(proof)
        if old_size & (old_size - 1) == 0:
            path.insert(0, old_root)
        fn, sn = old_size - 1, new_size - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                if not fn & 1:
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return fr == old_root and sr == new_root and sn == 0
    except (TypeError, ValueError):
        return False
