"""One error hierarchy for ringfence.

Every error a user can meet is a subclass of :class:`RingfenceError`. Each
class carries the exit code the CLI returns for it, so ``vault.cli.main`` maps
errors to exit codes in exactly one place. Messages are written for the person
at the terminal and never contain a secret (passphrase, key, plaintext).

Exit codes (documented in docs/cli.md):

====  ===========================================================
 0    success
 1    any other ringfence error
 2    bad command line (unknown option, bad value)
 3    something named does not exist (clip, request, camera, file)
 4    wrong passphrase, or no passphrase available
 5    malformed or undecryptable age data
 6    an integrity check failed (audit log, payload hash, receipt)
 7    refused by policy (no approved decision, illegal transition, held clip)
 8    the vault is busy (another daemon holds the lock)
 9    no vault here, its configuration is invalid, or its catalog is damaged
10    storage failure (disk full, permission denied)
11    a vault already exists there (``init`` on an existing vault)
====  ===========================================================
"""

from __future__ import annotations


class RingfenceError(Exception):
    """Base of every error ringfence raises on purpose."""

    exit_code = 1

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(RingfenceError):
    """The command line is not valid."""

    exit_code = 2


class NotFound(RingfenceError):
    """Something named does not exist."""

    exit_code = 3


class PassphraseError(RingfenceError):
    """The passphrase is wrong or could not be obtained."""

    exit_code = 4


# --- age v1 format errors (raised by vault.crypto, re-exported by vault.age) ---


class AgeError(RingfenceError):
    """The data is not a valid age v1 file, or cannot be opened."""

    exit_code = 5


class HeaderError(AgeError):
    """The age header is malformed or unsupported."""


class MACError(AgeError):
    """The age header MAC does not match: the header was altered."""


class PayloadError(AgeError):
    """The age payload is damaged, truncated or has trailing data."""


class NoMatchingIdentity(AgeError):
    """None of the given identities or passphrases opens this file."""


class ArmorError(AgeError):
    """The ASCII armor is malformed."""


class KeyFormatError(AgeError):
    """An age key string (age1…, AGE-SECRET-KEY-1…) is malformed."""


# --- vault errors ---


class IntegrityError(RingfenceError):
    """An integrity check failed."""

    exit_code = 6


class PolicyError(RingfenceError):
    """The action is not allowed by a recorded decision or rule."""

    exit_code = 7


class IllegalTransition(PolicyError):
    """A request cannot move from its current state to the one asked for."""


class VaultBusy(RingfenceError):
    """Another process holds the vault's lock."""

    exit_code = 8


class VaultError(RingfenceError):
    """There is no vault here, or its configuration is invalid."""

    exit_code = 9


class CatalogDamaged(VaultError):
    """The catalog file is damaged (not a database, or a malformed page)."""


class StorageError(RingfenceError):
    """Reading or writing the vault's files failed."""

    exit_code = 10


class VaultExists(RingfenceError):
    """There is a vault already where a new one was to be created."""

    exit_code = 11
