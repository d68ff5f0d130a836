"""SLIP-39 shares of a recovery identity: split and combine, pure.

A recovery identity is an X25519 age identity whose 32-byte secret is the
SLIP-39 master secret, so any SLIP-39 implementation that combines K of the
N word shares yields those 32 bytes, and the ``AGE-SECRET-KEY-1…`` string (its
Bech32 encoding, docs/age.md) follows. One group, K of N, no SLIP-39
passphrase: the words alone are the key, as a paper key is.
"""

from __future__ import annotations

from vault.errors import PassphraseError, UsageError

SECRET_SIZE = 32
MAX_SHARES = 16  # SLIP-39's limit for the members of one group


def check_split(shares: int, threshold: int) -> None:
    if not 1 <= shares <= MAX_SHARES:
        raise UsageError(f"--shares must be between 1 and {MAX_SHARES}")
    if not 1 <= threshold <= shares:
        raise UsageError("--threshold must be between 1 and --shares")
    if threshold == 1 and shares > 1:
        raise UsageError(
            "--threshold 1 with several shares makes each share the whole key: "
            "use --shares 1 for a single paper key"
        )


def split(secret: bytes, shares: int, threshold: int) -> list[str]:
    """*secret* as *shares* SLIP-39 mnemonics, any *threshold* of which rebuild it."""
    from shamir_mnemonic import generate_mnemonics

    if len(secret) != SECRET_SIZE:
        raise ValueError("a recovery secret is 32 bytes")
    check_split(shares, threshold)
    [group] = generate_mnemonics(1, [(threshold, shares)], secret, extendable=True)
    return list(group)


def combine(mnemonics: list[str]) -> bytes:
    """The 32-byte secret of *mnemonics*; PassphraseError when they do not rebuild one
    (too few, a typo, shares of two different splits)."""
    from shamir_mnemonic import MnemonicError, combine_mnemonics

    words = [" ".join(m.lower().split()) for m in mnemonics if m.strip()]
    if not words:
        raise PassphraseError("no recovery share given")
    try:
        secret = combine_mnemonics(words)
    except MnemonicError:
        # The library's message quotes words of a share: never repeated here.
        raise PassphraseError(
            "the recovery shares do not rebuild the key (too few, a word "
            "mistyped, or shares of different sets)"
        ) from None
    if len(secret) != SECRET_SIZE:
        raise PassphraseError("the recovery shares hold a secret that is not a recovery key")
    return bytes(secret)
