"""Why a witness refuses a checkpoint, each with its HTTP status (c2sp.org/tlog-witness).

Each class is also a ringfence error with its exit code, so the offline
exchange (``ringfence witness cosign``) reports the same refusals as the
HTTP server, through the one error mapping of the CLI.
"""

from __future__ import annotations

from vault.errors import IntegrityError, NotFound, PolicyError, RingfenceError, UsageError


class MalformedRequest(UsageError):
    """The add-checkpoint request is not well formed."""

    http_status = 400


class UnknownLog(NotFound):
    """The witness does not know the checkpoint's log."""

    http_status = 404


class BadSignature(IntegrityError):
    """No signature on the checkpoint verifies against the log's trusted keys."""

    http_status = 403


class SizeConflict(PolicyError):
    """The old size is not the size the witness last cosigned (or the roots differ)."""

    http_status = 409

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class BadProof(IntegrityError):
    """The consistency proof does not prove that the checkpoint extends the old one."""

    http_status = 422


#: Every refusal, for the server's mapping to status codes.
REFUSALS = (MalformedRequest, UnknownLog, BadSignature, SizeConflict, BadProof)


class WitnessRefused(RingfenceError):
    """A witness answered with an error status (client side)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
