"""Keeping the owner's secrets inside this process.

Once the owner's keys are unlocked, the raw X25519 and Ed25519 secrets (and
the passphrase that opened them) are in this process's memory. Two ways out
are closed here, each in one place:

* a core dump: :func:`forbid_core_dumps` sets ``RLIMIT_CORE`` to 0 and, on
  Linux, ``PR_SET_DUMPABLE`` to 0 (which also keeps other processes of the
  same user from attaching a debugger or reading ``/proc/<pid>/mem``);
  ``vault.keys`` calls it before any key file is opened or made;
* a child's environment: :func:`child_env` is the environment every process
  ringfence starts receives, with each variable whose name contains
  ``PASSPHRASE`` removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
SECRET_MARK = "PASSPHRASE"  # noqa: S105 - a variable name to drop, not a password


def forbid_core_dumps() -> None:
    """Make sure this process never writes its memory to a core file.

    Idempotent and cheap; lowering a limit needs no privilege. The hard limit
    goes to 0 too, so nothing later in the process can raise it again.
    """
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning(
                "could not mark the process undumpable: %s", os.strerror(ctypes.get_errno())
            )


def is_dumpable() -> bool:
    """Whether either guard of :func:`forbid_core_dumps` is still off.

    Both matter: a core_pattern that pipes to a collector does not always
    honour RLIMIT_CORE, while an undumpable process is never dumped.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_CORE)
    if soft != 0:
        return True
    if sys.platform.startswith("linux"):
        return bool(ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    return False


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a process ringfence starts: *base* (default: ours)
    without any variable whose name contains ``PASSPHRASE``, in any case."""
    env = os.environ if base is None else base
    return {k: v for k, v in env.items() if SECRET_MARK not in k.upper()}
