"""Seal/open speed and memory of vault.age against the stock ``age`` CLI.

Method (the same for both sides, so the ratio is honest): every measurement
is one child process that encrypts or decrypts file → file. Our side is
``python -c`` importing ``vault.age``, so interpreter start-up and imports are
counted; the reference is the ``age`` binary. Wall time is measured around
the child's whole life; peak RSS is that child's own ``ru_maxrss`` from
``os.wait4``, taken in a small helper that forks it (see ``_FORKER``). Each
measurement is repeated; the median wall time and the largest peak RSS are
reported. Input lives in a temporary directory,
so both sides read from and write to the same filesystem and page cache.

Run: ``python bench/bench_age.py [--size-mib 256] [--repeat 3]``.
``main(size_mib=...)`` returns the figures as a dict for bench/__main__.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

_SEAL = (
    "import sys\n"
    "from vault.age import encrypt, parse_recipient\n"
    "src = open(sys.argv[1], 'rb', buffering=0)\n"
    "dst = open(sys.argv[2], 'wb', buffering=0)\n"
    "encrypt(src, dst, [parse_recipient(sys.argv[3])])\n"
)
_OPEN = (
    "import sys\n"
    "from vault.age import decrypt, parse_identities_file\n"
    "ids = parse_identities_file(open(sys.argv[3]).read())\n"
    "src = open(sys.argv[1], 'rb', buffering=0)\n"
    "dst = open(sys.argv[2], 'wb', buffering=0)\n"
    "decrypt(src, dst, ids)\n"
)


# A minimal forker: a child's ru_maxrss includes the memory of the process it
# was forked from (Linux counts the pre-exec image), so the child is forked
# from this small helper, not from the benchmark process with its imports and
# buffers. The helper's own size (~5 MiB) is the floor of every RSS figure,
# for both sides alike.
_FORKER = """
import os, sys, time
argv = sys.argv[1:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss)
"""


def _run(argv: list[str]) -> tuple[float, float]:
    """Run *argv* as a child; (wall seconds, the child's peak RSS in MiB)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-S", "-c", _FORKER, *argv], env=env, capture_output=True, text=True
    )
    try:
        code, wall, maxrss_kib = out.stdout.split()
    except ValueError:
        raise RuntimeError(f"benchmark helper failed: {out.stderr.strip()}") from None
    if int(code) != 0:
        raise RuntimeError(f"{argv[0]} failed ({code}): {out.stderr.strip()}")
    return float(wall), int(maxrss_kib) / 1024  # Linux reports KiB


def _measure(argv: list[str], repeat: int) -> dict[str, float]:
    runs = [_run(argv) for _ in range(repeat)]
    return {
        "wall_s": round(statistics.median(w for w, _ in runs), 3),
        "peak_rss_mib": round(max(r for _, r in runs), 1),
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MIB):
            h.update(block)
    return h.hexdigest()


def _random_file(path: Path, size_mib: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))


def _ratio(ours: dict[str, float], ref: dict[str, float] | None, key: str) -> float | None:
    if ref is None or not ref[key]:
        return None
    return round(ours[key] / ref[key], 3)


def main(size_mib: int = 256, repeat: int = 3) -> dict[str, Any]:
    """Seal and open a random *size_mib* file with vault.age and with ``age``."""
    sys.path.insert(0, str(ROOT))
    from vault import age

    age_bin = shutil.which("age")
    py = sys.executable
    results: dict[str, Any] = {
        "size_mib": size_mib,
        "repeat": repeat,
        "method": "each side runs as its own child process, file to file; "
        "ours is `python -c` (start-up and imports included); median wall time; "
        "peak RSS = ru_maxrss from wait4 of that child (forked from a ~5 MiB helper)",
        "age_cli": age_bin,
    }
    with tempfile.TemporaryDirectory(prefix="ringfence-bench-") as tmp:
        d = Path(tmp)
        plain, keys = d / "plain.bin", d / "keys.txt"
        _random_file(plain, size_mib)
        identity = age.generate_identity()
        keys.write_text(f"{identity}\n")
        recipient = str(identity.recipient)

        seal_ours = _measure([py, "-c", _SEAL, str(plain), str(d / "ours.age"), recipient], repeat)
        seal_ref = (
            _measure([age_bin, "-r", recipient, "-o", str(d / "ref.age"), str(plain)], repeat)
            if age_bin
            else None
        )
        open_ours = _measure(
            [py, "-c", _OPEN, str(d / "ours.age"), str(d / "out1"), str(keys)], repeat
        )
        open_ref = (
            _measure(
                [age_bin, "-d", "-i", str(keys), "-o", str(d / "out2"), str(d / "ours.age")], repeat
            )
            if age_bin
            else None
        )
        expected = _sha256(plain)
        assert _sha256(d / "out1") == expected, "vault.age did not round-trip"
        if age_bin:
            assert _sha256(d / "out2") == expected, "age could not open our file"
            results["age_opens_ours"] = True

    for op, ours, ref in (("seal", seal_ours, seal_ref), ("open", open_ours, open_ref)):
        results[op] = {
            "ringfence": ours,
            "age": ref,
            "wall_ratio": _ratio(ours, ref, "wall_s"),
            "rss_ratio": _ratio(ours, ref, "peak_rss_mib"),
            "ringfence_mib_per_s": round(size_mib / ours["wall_s"], 1),
        }
    _print_table(results)
    return results


def _print_table(r: dict[str, Any]) -> None:
    print(f"age v1, {r['size_mib']} MiB random file, median of {r['repeat']} runs")
    heads = ("ringfence s", 12), ("age s", 8), ("ratio", 6), ("rf RSS MiB", 11), ("age RSS MiB", 12)
    print(f"{'':6} " + " ".join(f"{h:>{w}}" for h, w in heads))
    for op in ("seal", "open"):
        row = r[op]
        ref = row["age"] or {"wall_s": float("nan"), "peak_rss_mib": float("nan")}
        print(
            f"{op:6} {row['ringfence']['wall_s']:>12.3f} {ref['wall_s']:>8.3f} "
            f"{(row['wall_ratio'] or float('nan')):>6.2f} "
            f"{row['ringfence']['peak_rss_mib']:>11.1f} {ref['peak_rss_mib']:>12.1f}"
        )
    print(f"method: {r['method']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(size_mib=args.size_mib, repeat=args.repeat)
