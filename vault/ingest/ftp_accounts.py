"""FTP logins for cameras: one per camera, a password shown once, only a slow hash kept.

A camera's login is its name. Its password is generated (never chosen), shown
to the owner once to type into the camera, and only a scrypt verifier of it
is kept: ``scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`` (base64, unpadded). The
receiver faces the network, so a stolen account list must not give the
passwords back, and checking one must cost an attacker real work.

:class:`LoginThrottle` limits failed logins per network address (an IPv6
peer per /64, the block one subscriber holds): a guesser gets a handful of
tries, then a pause, whichever login it tries.

:class:`AccountFile` is what the daemon's receiver uses: the book in the
vault's ``ftp-accounts.json``, read again when the file changes, so a
camera added (or a password replaced) while the daemon runs can log in at
once with the new password, and the old one stops working.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vault.errors import NotFound, UsageError, VaultError
from vault.fsutil import read_regular, write_atomic

#: The same rule as camera names: letters, digits, '.', '_' or '-', at most 64.
LOGIN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: 24 characters from the URL-safe base64 alphabet: 144 random bits, easy to type.
PASSWORD_BYTES = 18
#: Passwords longer than this are refused before any hashing (bounded work per try).
MAX_PASSWORD = 256
#: 2**15 * 8 * 128 bytes = 32 MiB and tens of milliseconds per check.
DEFAULT_LOG_N = 15
_MAX_LOG_N = 20
_SALT = 16
_HASH = 32
_VERIFIER = re.compile(
    r"^scrypt\$(?P<log_n>[1-9][0-9]?)\$(?P<r>[1-9][0-9]?)\$(?P<p>[1-9])"
    r"\$(?P<salt>[A-Za-z0-9+/]{22})\$(?P<hash>[A-Za-z0-9+/]{43})$"
)
#: An account file holds a few lines per camera; anything much larger is not ours.
MAX_ACCOUNT_FILE = 1 << 20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: bytes, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=_HASH, n=1 << log_n, r=r, p=p).derive(password)


@dataclass(frozen=True)
class Verifier:
    """A scrypt hash of a password with its salt and work factor."""

    log_n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def of(cls, password: str, *, log_n: int = DEFAULT_LOG_N) -> Verifier:
        salt = secrets.token_bytes(_SALT)
        return cls(log_n, 8, 1, salt, _scrypt(password.encode(), salt, log_n, 8, 1))

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Strict: the exact format above, work factor within bounds; VaultError otherwise."""
        m = _VERIFIER.match(text) if isinstance(text, str) else None
        if m is None:
            raise VaultError("FTP account: the password verifier is malformed")
        log_n, r, p = int(m["log_n"]), int(m["r"]), int(m["p"])
        if log_n > _MAX_LOG_N or r > 32:
            raise VaultError("FTP account: the password verifier's work factor is out of range")
        try:
            salt, digest = _unb64(m["salt"]), _unb64(m["hash"])
        except (binascii.Error, ValueError):
            raise VaultError("FTP account: the password verifier is malformed") from None
        if _b64(salt) != m["salt"] or _b64(digest) != m["hash"]:
            raise VaultError("FTP account: the password verifier is not canonical base64")
        return cls(log_n, r, p, salt, digest)

    def __str__(self) -> str:
        return f"scrypt${self.log_n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.digest)}"

    def matches(self, password: str) -> bool:
        """Whether *password* hashes to this verifier (constant-time comparison)."""
        raw = password.encode("utf-8", "surrogateescape")
        if len(raw) > MAX_PASSWORD:
            return False
        got = _scrypt(raw, self.salt, self.log_n, self.r, self.p)
        return hmac.compare_digest(got, self.digest)


@dataclass(frozen=True)
class FtpAccount:
    """One camera's login: the name it logs in with and the verifier of its password."""

    login: str
    camera: str
    verifier: Verifier


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def check_login(login: str) -> str:
    if not isinstance(login, str) or not LOGIN.match(login):
        raise UsageError(f"FTP login {login!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    return login


class AccountBook:
    """The FTP accounts, by login. Pure in-memory state; :meth:`load`/:meth:`save` persist it.

    :meth:`check` costs one scrypt whether or not the login exists, so the
    time a failed login takes does not tell a valid login from an invalid one.
    """

    def __init__(self, accounts: Iterable[FtpAccount] = (), *, log_n: int = DEFAULT_LOG_N) -> None:
        self._log_n = log_n
        self._accounts: dict[str, FtpAccount] = {}
        for account in accounts:
            self._accounts[account.login] = account
        self._decoy = Verifier.of(new_password(), log_n=log_n)

    def add(self, camera: str) -> tuple[FtpAccount, str]:
        """A new login for *camera* (replacing its old one); the password, to show once."""
        login = check_login(camera)
        password = new_password()
        account = FtpAccount(login, camera, Verifier.of(password, log_n=self._log_n))
        self._accounts[login] = account
        return account, password

    def remove(self, login: str) -> None:
        if self._accounts.pop(login, None) is None:
            raise NotFound(f"no FTP account {login!r}")

    def get(self, login: str) -> FtpAccount | None:
        return self._accounts.get(login)

    def logins(self) -> list[str]:
        return sorted(self._accounts)

    def check(self, login: str, password: str) -> FtpAccount | None:
        """The account if *password* is its password, else None."""
        account = self._accounts.get(login) if isinstance(login, str) else None
        verifier = account.verifier if account is not None else self._decoy
        ok = isinstance(password, str) and verifier.matches(password)
        return account if ok and account is not None else None

    # -- persistence: {"version": 1, "accounts": [{"login", "camera", "verifier"}]}

    def to_json(self) -> bytes:
        rows = [
            {"login": a.login, "camera": a.camera, "verifier": str(a.verifier)}
            for a in sorted(self._accounts.values(), key=lambda a: a.login)
        ]
        return json.dumps({"version": 1, "accounts": rows}, indent=1).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, *, log_n: int = DEFAULT_LOG_N) -> AccountBook:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise VaultError("FTP accounts: the file is not valid JSON") from None
        if (
            not isinstance(doc, dict)
            or doc.get("version") != 1
            or set(doc) != {"version", "accounts"}
            or not isinstance(doc["accounts"], list)
        ):
            raise VaultError('FTP accounts: expected {"version": 1, "accounts": [...]}')
        accounts = []
        for number, row in enumerate(doc["accounts"], start=1):
            if not isinstance(row, dict) or set(row) != {"login", "camera", "verifier"}:
                raise VaultError(f"FTP accounts: entry {number} is malformed")
            if not all(isinstance(row[k], str) for k in row) or not LOGIN.match(row["login"]):
                raise VaultError(f"FTP accounts: entry {number} is malformed")
            accounts.append(
                FtpAccount(row["login"], row["camera"], Verifier.parse(row["verifier"]))
            )
        if len({a.login for a in accounts}) != len(accounts):
            raise VaultError("FTP accounts: a login appears twice")
        return cls(accounts, log_n=log_n)

    @classmethod
    def load(cls, path: Path, *, log_n: int = DEFAULT_LOG_N) -> AccountBook:
        """The book in *path*; an empty one when the file does not exist."""
        try:
            data = read_regular(path, MAX_ACCOUNT_FILE)
        except FileNotFoundError:
            return cls(log_n=log_n)
        except OSError as exc:
            raise VaultError(f"cannot read the FTP accounts: {exc.strerror}") from None
        return cls.from_json(data, log_n=log_n)

    def save(self, path: Path) -> None:
        """Write the book atomically, mode 0600 (it holds only verifiers, still private)."""
        write_atomic(path, self.to_json(), mode=0o600, share=False)


class Accounts(Protocol):
    """What the receiver asks of the accounts (an :class:`AccountBook` or :class:`AccountFile`)."""

    def check(self, login: str, password: str) -> FtpAccount | None: ...

    def get(self, login: str) -> FtpAccount | None: ...


class AccountFile:
    """The book in *path*, read again whenever the file changes. Thread-safe.

    A file that cannot be read keeps the book last read (and ``error`` says
    why), so a bad edit does not lock every camera out; at first a missing
    file is an empty book.
    """

    def __init__(self, path: Path, *, log_n: int = DEFAULT_LOG_N) -> None:
        self._path, self._log_n = path, log_n
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._book = AccountBook(log_n=log_n)
        self.error: str | None = None
        self._current()

    def _current(self) -> AccountBook:
        try:
            st = os.stat(self._path)
            version: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            version = None
        except OSError as exc:
            self.error = f"cannot read the FTP accounts: {exc.strerror}"
            return self._book
        with self._lock:
            if version != self._seen:
                try:
                    self._book = AccountBook.load(self._path, log_n=self._log_n)
                    self.error = None
                except VaultError as exc:
                    self.error = exc.message
                self._seen = version
            return self._book

    def check(self, login: str, password: str) -> FtpAccount | None:
        return self._current().check(login, password)

    def get(self, login: str) -> FtpAccount | None:
        return self._current().get(login)

    def logins(self) -> list[str]:
        return self._current().logins()


def address_key(address: str) -> str:
    """Whom a failure counts against: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber holds a whole /64 (2**64 addresses): counted per
    address, a guesser would change address at each try. An IPv4-mapped
    IPv6 address counts as its IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Tries:
    failures: list[float]
    blocked_until: float = 0.0


class LoginThrottle:
    """Failed logins per address: *limit* failures within *window* seconds block it for *pause*.

    An address is an IPv4 address or an IPv6 /64 (:func:`address_key`).

    A blocked address is refused before its password is checked, so even the
    right password does not get in until the pause ends. At most *max_addresses*
    are remembered (the oldest are forgotten first), so the table stays small
    under a flood of addresses.
    """

    def __init__(
        self,
        *,
        limit: int = 5,
        window: float = 600.0,
        pause: float = 900.0,
        max_addresses: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.pause = limit, window, pause
        self._max = max_addresses
        self._clock = clock
        self._seen: OrderedDict[str, _Tries] = OrderedDict()

    def blocked(self, address: str) -> bool:
        address = address_key(address)
        tries = self._seen.get(address)
        return tries is not None and self._clock() < tries.blocked_until

    def failed(self, address: str) -> bool:
        """Count a failure; True if the address is now blocked."""
        address = address_key(address)
        now = self._clock()
        tries = self._seen.pop(address, None) or _Tries([])
        self._seen[address] = tries  # most recent last
        tries.failures = [t for t in tries.failures if now - t < self.window] + [now]
        if len(tries.failures) >= self.limit:
            tries.blocked_until = now + self.pause
            tries.failures = []
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return now < tries.blocked_until

    def succeeded(self, address: str) -> None:
        address = address_key(address)
        tries = self._seen.get(address)
        if tries is not None and self._clock() >= tries.blocked_until:
            del self._seen[address]
