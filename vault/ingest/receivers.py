"""Receivers: sources the daemon runs that hand clips straight to the sealer.

A drop folder is watched by the daemon itself. A *receiver* is a source with
its own thread(s) that produces clips without a plaintext file: the FTP/FTPS
receiver (:mod:`vault.ingest.ftp_daemon`), a stream recorder. Each one seals
into a :class:`vault.ingest.recording.CatalogSink`, which writes the catalog
row and the ``clip.sealed`` entry exactly as a drop-folder clip gets them.

The daemon's whole contract with a receiver is :class:`Receiver`:

- ``start()`` in the daemon's thread once recovery is done (raising a
  :class:`vault.errors.RingfenceError` stops the daemon: a source the owner
  configured and that cannot run, such as a port in use, is not ignored);
- ``status()`` at every heartbeat, shown by ``ringfence status`` under
  ``receivers``;
- ``stop()`` when the daemon stops (an upload or segment in progress is
  discarded; a commit under way finishes first).

A new kind of receiver adds one factory to :data:`FACTORIES`: it returns
None when the vault does not configure it, and imports its libraries only
when it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from vault.ingest.recording import CatalogSink
    from vault.service import Vault


class Receiver(Protocol):
    """A source the daemon starts, watches and stops; see the module docstring."""

    #: Its key in ``daemon.json`` and ``status`` ("ftp", "stream", ...).
    name: str

    def start(self) -> None:
        """Start serving in the receiver's own thread(s); raise if it cannot run."""

    def status(self) -> dict[str, Any]:
        """What ``status`` shows: JSON values only (listening address, counts, last error)."""

    def stop(self) -> None:
        """Stop and wait for the receiver's threads; never raises."""


@dataclass(frozen=True)
class ReceiverSetup:
    """What every factory receives from the daemon."""

    vault: Vault
    #: The sink that records each finished clip (shared by every receiver).
    sink: CatalogSink
    #: One-run overrides from the command line, by receiver ("ftp_listen": "HOST:PORT").
    overrides: dict[str, Any]


Factory = Callable[[ReceiverSetup], "Receiver | None"]


def _ftp(setup: ReceiverSetup) -> Receiver | None:
    from vault.ingest.ftp_daemon import ftp_receiver

    return ftp_receiver(setup)


def _streams(setup: ReceiverSetup) -> Receiver | None:
    from vault.ingest.recorder import stream_receiver

    return stream_receiver(setup)


#: One factory per kind of receiver, in start order.
FACTORIES: list[Factory] = [_ftp, _streams]


def configured(setup: ReceiverSetup) -> list[Receiver]:
    """The receivers this vault configures (none by default)."""
    found = (factory(setup) for factory in FACTORIES)
    return [receiver for receiver in found if receiver is not None]
