"""The audit event registry: one definition per type, checked on every append."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.audit.conftest import ORIGIN, StepClock
from vault.audit import events
from vault.audit.events import EVENTS, EventType, check_event
from vault.audit.log import AuditLog, format_time


@pytest.fixture
def strict(engine: Engine, clock: StepClock) -> AuditLog:
    """A log as the vault opens it: only registered events."""
    return AuditLog(engine, ORIGIN, clock=clock)


def test_an_unregistered_type_is_refused(strict: AuditLog) -> None:
    with pytest.raises(ValueError, match="not a registered event type"):
        strict.append("clip.sealedd", actor="daemon")
    with pytest.raises(ValueError, match="not a registered event type"):
        strict.append_many([("x.y", {"actor": "owner"})])
    assert strict.size() == 0


def test_missing_or_mistyped_details_are_refused(strict: AuditLog) -> None:
    with pytest.raises(ValueError, match="details lack was"):
        strict.append(
            events.REQUEST_WITHDRAWN, actor="owner", subject="req_1", details={"reason": None}
        )
    with pytest.raises(ValueError, match="details.in_scope has the wrong type"):
        strict.append(
            events.REQUEST_DECIDED,
            actor="owner",
            subject="req_1",
            details={
                "decision": "dec_1",
                "outcome": "refused",
                "reason": "no",
                "terms": None,
                "expires_at": None,
                "clips": [],
                "in_scope": "3",
            },
        )
    with pytest.raises(ValueError, match="details.once has the wrong type"):
        strict.append(
            events.DAEMON_STARTED, actor="daemon", details={"pid": 1, "once": 1, "folders": []}
        )
    with pytest.raises(ValueError, match="details.shredded has the wrong type"):
        strict.append(
            events.RETENTION_RUN,
            actor="owner",
            details={
                "record": "del_1",
                "record_sha256": "00",
                "trigger": "x",
                "shredded": True,
                "held": 0,
                "grace_days": 7,
            },
        )
    assert strict.size() == 0


def test_optional_keys_are_checked_when_present(strict: AuditLog) -> None:
    strict.append(events.HOLD_RELEASED, actor="owner", subject="hld_1", details={"reason": "x"})
    with pytest.raises(ValueError, match="details.signed has the wrong type"):
        strict.append(
            events.HOLD_RELEASED,
            actor="owner",
            subject="hld_1",
            details={"reason": "x", "signed": "yes"},
        )
    assert strict.size() == 1


def test_an_entry_is_the_same_bytes_through_the_registry(
    strict: AuditLog, clock: StepClock
) -> None:
    details = {"sealed": 3, "duplicates": 0}
    strict.append(events.DAEMON_STOPPED, actor="daemon", details=details)
    assert strict.entry(0) == (
        b'{"actor":"daemon","details":{"duplicates":0,"sealed":3},"index":0,"subject":null,'
        b'"time":"' + format_time(clock.now).encode() + b'","type":"daemon.stopped"}'
    )


def test_every_constant_names_its_definition() -> None:
    names = {v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)}
    assert names == set(EVENTS)
    for name, definition in EVENTS.items():
        assert isinstance(definition, EventType) and definition.name == name
        assert not set(definition.required) & set(definition.optional)
    assert set(events.POLICY_EVENTS) <= set(EVENTS)


def test_the_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        EVENTS["x.y"] = EventType("x.y")  # type: ignore[index]
    with pytest.raises(ValueError):
        check_event(EVENTS, None, {})  # type: ignore[arg-type]


def test_every_event_type_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text("utf-8")
    for name in EVENTS:
        assert f"| `{name}` |" in doc, name
