"""The pure retention rules: due, held, grace, pressure, and the record signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit.note import NoteSigner
from vault.errors import IntegrityError
from vault.retention import (
    ClipFacts,
    ManualHold,
    RequestScope,
    expires_at,
    judge,
    pressure_victims,
    sign_record,
    verify_record,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=7)
DAY = timedelta(days=1)


def clip(days_old: float, camera: str = "front", retention: int = 30, **kw: object) -> ClipFacts:
    return ClipFacts(
        id=f"clp_{camera}_{days_old}",
        camera=camera,
        captured_at=NOW - days_old * DAY,
        retention_days=retention,
        **kw,
    )  # type: ignore[arg-type]


def request(
    status: str,
    *,
    updated: float = 0,
    exported: float | None = None,
    cameras: tuple[str, ...] = ("front",),
) -> RequestScope:
    return RequestScope(
        id="req_x",
        status=status,
        cameras=frozenset(cameras),
        scope_from=NOW - 100 * DAY,
        scope_to=NOW - 35 * DAY,
        updated_at=NOW - updated * DAY,
        exported_at=None if exported is None else NOW - exported * DAY,
    )


def verdict(c: ClipFacts, holds: list[ManualHold] = [], requests: list[RequestScope] = []):  # noqa: B006
    [v] = judge([c], holds, requests, NOW, GRACE)
    return v


def test_retention_days_and_boundary() -> None:
    assert verdict(clip(31)).deletable
    assert verdict(clip(30)).deletable  # exactly at the end: due
    assert not verdict(clip(29.99)).due
    assert expires_at(clip(31)) == NOW - DAY


def test_zero_keeps_forever() -> None:
    v = verdict(clip(10_000, retention=0))
    assert not v.due and v.expires_at is None


def test_shredded_clips_are_ignored() -> None:
    assert judge([clip(40, shredded=True)], [], [], NOW, GRACE) == []


def test_manual_hold_without_until_holds_until_released() -> None:
    c = clip(40)
    hold = ManualHold("hld_a", "front", c.captured_at, c.captured_at, "insurance")
    v = verdict(c, [hold])
    assert v.due and not v.deletable and v.held_by[0].id == "hld_a"
    assert "until released" in v.held_by[0].describe()
    released = ManualHold("hld_a", "front", c.captured_at, c.captured_at, "x", released_at=NOW)
    assert verdict(c, [released]).deletable


def test_manual_hold_with_until_lapses() -> None:
    c = clip(40)
    win = (c.captured_at - DAY, c.captured_at + DAY)
    assert not verdict(c, [ManualHold("h", "front", *win, "x", until=NOW + DAY)]).deletable
    assert verdict(c, [ManualHold("h", "front", *win, "x", until=NOW)]).deletable


def test_manual_hold_scope_is_camera_and_inclusive_window() -> None:
    c = clip(40)
    assert verdict(c, [ManualHold("h", "back", c.captured_at, c.captured_at, "x")]).deletable
    after = ManualHold("h", "front", c.captured_at + timedelta(seconds=1), NOW, "x")
    assert verdict(c, [after]).deletable
    edge = ManualHold("h", "front", c.captured_at - DAY, c.captured_at, "x")
    assert not verdict(c, [edge]).deletable


@pytest.mark.parametrize("status", ["pending", "approved", "partly_approved"])
def test_open_requests_hold_their_scope(status: str) -> None:
    v = verdict(clip(40), requests=[request(status, updated=500)])
    assert not v.deletable and v.held_by[0].until is None


def test_request_holds_only_its_cameras_and_window() -> None:
    assert verdict(clip(40, camera="back"), requests=[request("pending")]).deletable
    assert verdict(clip(31), requests=[request("pending")]).deletable  # after the window


@pytest.mark.parametrize("status", ["refused", "expired", "withdrawn"])
def test_final_requests_hold_for_the_grace_period(status: str) -> None:
    assert not verdict(clip(40), requests=[request(status, updated=6.9)]).deletable
    assert verdict(clip(40), requests=[request(status, updated=7)]).deletable
    held = verdict(clip(40), requests=[request(status, updated=1)]).held_by[0]
    assert held.until == NOW - DAY + GRACE


def test_exported_approval_holds_for_grace_after_the_latest_export() -> None:
    assert not verdict(clip(40), requests=[request("approved", exported=3)]).deletable
    assert verdict(clip(40), requests=[request("approved", exported=8)]).deletable
    # Withdrawn after an export: the later event counts.
    assert not verdict(clip(40), requests=[request("withdrawn", updated=2, exported=9)]).deletable


def test_an_unknown_status_holds() -> None:
    assert not verdict(clip(40), requests=[request("appealed", updated=900)]).deletable


def test_pressure_takes_oldest_unheld_first() -> None:
    clips = [clip(d, payload_size=100) for d in (5, 50, 20, 10)]  # type: ignore[arg-type]
    oldest = clips[1]
    hold = ManualHold("h", "front", oldest.captured_at, oldest.captured_at, "x")
    verdicts = judge(clips, [hold], [], NOW, GRACE)
    picked = pressure_victims(verdicts, 150)
    assert [v.clip.captured_at for v in picked] == [NOW - 20 * DAY, NOW - 10 * DAY]
    assert pressure_victims(verdicts, 0) == []
    assert len(pressure_victims(verdicts, 10_000)) == 3  # never the held one


def test_record_signature() -> None:
    signer = NoteSigner("ringfence.vault/test/device", Ed25519PrivateKey.generate())
    other = NoteSigner("ringfence.vault/test/owner", Ed25519PrivateKey.generate())
    record = sign_record({"id": "del_x", "clips": [{"id": "clp_a", "sha256": "00" * 32}]}, signer)
    verify_record(record, signer.verifier_key())
    with pytest.raises(IntegrityError, match="another key"):
        verify_record(record, other.verifier_key())
    tampered = {**record, "clips": [{"id": "clp_a", "sha256": "11" * 32}]}
    with pytest.raises(IntegrityError, match="does not verify"):
        verify_record(tampered, signer.verifier_key())
    with pytest.raises(IntegrityError):
        verify_record({"id": "del_x"}, signer.verifier_key())
    with pytest.raises(ValueError):
        sign_record(record, signer)
