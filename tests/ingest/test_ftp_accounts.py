"""FTP accounts, the login throttle and the FTPS certificate, without a server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from vault.errors import NotFound, UsageError, VaultError
from vault.ingest.ftp_accounts import AccountBook, LoginThrottle, Verifier
from vault.ingest.ftp_tls import KEY_NAME, ensure_identity, fingerprint, supplied


def test_a_login_per_camera_with_a_generated_password() -> None:
    book = AccountBook(log_n=10)
    account, password = book.add("front")
    assert account.login == account.camera == "front"
    assert len(password) == 24
    assert book.check("front", password) == account
    assert book.check("front", password + "x") is None
    assert book.check("back", password) is None
    assert book.check("front", "x" * 10_000) is None  # refused before hashing
    again, new = book.add("front")  # a reset: the old password stops working
    assert new != password and book.check("front", password) is None
    assert book.check("front", new) == again
    book.remove("front")
    with pytest.raises(NotFound):
        book.remove("front")
    for bad in ("", "a b", "x" * 65, "../x", "ünï"):
        with pytest.raises(UsageError):
            book.add(bad)


def test_only_a_verifier_is_stored(tmp_path: Path) -> None:
    book = AccountBook(log_n=10)
    _, password = book.add("front")
    path = tmp_path / "ftp-accounts.json"
    book.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert password not in text
    verifier = json.loads(text)["accounts"][0]["verifier"]
    assert verifier.startswith("scrypt$10$8$1$")
    loaded = AccountBook.load(path, log_n=10)
    assert loaded.check("front", password) is not None
    assert AccountBook.load(tmp_path / "missing.json").logins() == []


def test_verifier_parsing_is_strict() -> None:
    good = str(Verifier.of("pw", log_n=10))
    assert str(Verifier.parse(good)) == good
    assert Verifier.parse(good).matches("pw")
    parts = good.split("$")
    bad = [
        "",
        good + "=",
        good.replace("scrypt", "bcrypt"),
        "$".join([*parts[:1], "25", *parts[2:]]),  # work factor too high
        "$".join([*parts[:4], parts[4][:-1] + "B", parts[5]]),  # non-canonical trailing bits
        good[:-1],
    ]
    for text in bad:
        with pytest.raises(VaultError):
            Verifier.parse(text)


@pytest.mark.parametrize(
    "doc",
    [
        b"not json",
        b"[]",
        b'{"version": 2, "accounts": []}',
        b'{"version": 1, "accounts": [], "extra": 1}',
        b'{"version": 1, "accounts": [{"login": "a", "camera": "a"}]}',
        b'{"version": 1, "accounts": [{"login": "a b", "camera": "a", "verifier": "x"}]}',
    ],
)
def test_malformed_account_files(doc: bytes) -> None:
    with pytest.raises(VaultError):
        AccountBook.from_json(doc)


def test_duplicate_logins_are_refused() -> None:
    v = str(Verifier.of("pw", log_n=10))
    row = {"login": "a", "camera": "a", "verifier": v}
    with pytest.raises(VaultError, match="twice"):
        AccountBook.from_json(json.dumps({"version": 1, "accounts": [row, row]}).encode())


def test_throttle() -> None:
    now = [0.0]
    t = LoginThrottle(limit=3, window=60, pause=300, max_addresses=2, clock=lambda: now[0])
    assert not t.failed("1.2.3.4") and not t.failed("1.2.3.4")
    now[0] = 61  # the first two are out of the window
    assert not t.failed("1.2.3.4")
    assert not t.blocked("1.2.3.4")
    assert not t.failed("1.2.3.4")
    assert t.failed("1.2.3.4")
    assert t.blocked("1.2.3.4") and not t.blocked("5.6.7.8")
    t.succeeded("1.2.3.4")  # a success while blocked does not lift the block
    assert t.blocked("1.2.3.4")
    now[0] += 300
    assert not t.blocked("1.2.3.4")
    for address in ("a", "b", "c"):
        t.failed(address)
    assert len(t._seen) == 2  # bounded


def test_certificate_made_once(tmp_path: Path) -> None:
    first = ensure_identity(tmp_path / "tls")
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    assert first.fingerprint.startswith("SHA256:") and len(first.fingerprint) == 7 + 95
    again = ensure_identity(tmp_path / "tls")
    assert again.fingerprint == first.fingerprint
    assert fingerprint(first.cert_path.read_bytes()) == first.fingerprint
    cert = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_supplied_certificate_must_match_its_key(tmp_path: Path) -> None:
    mine = ensure_identity(tmp_path / "a")
    assert supplied(mine.cert_path, mine.key_path).fingerprint == mine.fingerprint
    other = ensure_identity(tmp_path / "b")
    with pytest.raises(VaultError, match="does not belong"):
        supplied(mine.cert_path, other.key_path)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN NOTHING-----\n")
    with pytest.raises(VaultError):
        supplied(junk, mine.key_path)
    with pytest.raises(VaultError):
        supplied(mine.cert_path, junk)
    with pytest.raises(VaultError):
        supplied(tmp_path / "missing.pem", mine.key_path)
    # A half-made identity (key gone) is an error, not silently replaced.
    (tmp_path / "a" / KEY_NAME).unlink()
    with pytest.raises(VaultError):
        ensure_identity(tmp_path / "a")


def test_ipv6_failures_count_per_64() -> None:
    from vault.ingest.ftp_accounts import address_key

    now = [0.0]
    throttle = LoginThrottle(limit=3, window=60, pause=300, clock=lambda: now[0])
    # A guesser hopping across addresses of its own /64 is one address.
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
        throttle.failed(host)
    assert throttle.blocked("2001:db8:1:2::99")
    assert not throttle.blocked("2001:db8:1:3::1")  # the next /64 is someone else
    # IPv4, and IPv4 mapped into IPv6, count per address.
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7" == address_key("192.0.2.7")
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("not an address") == "not an address"


def test_the_account_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    from vault.ingest.ftp_accounts import AccountFile

    path = tmp_path / "ftp-accounts.json"
    live = AccountFile(path, log_n=10)
    assert live.get("front") is None  # no file yet: no logins
    book = AccountBook(log_n=10)
    _, first = book.add("front")
    book.save(path)
    assert live.check("front", first) is not None
    _, second = book.add("front")
    book.save(path)
    assert live.check("front", first) is None and live.check("front", second) is not None
    # A damaged file keeps the book last read, and says why.
    path.write_bytes(b"{not json")
    assert live.check("front", second) is not None and live.error
