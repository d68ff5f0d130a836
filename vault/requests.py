"""The request state machine: an explicit transition table; illegal moves raise.

::

    pending ──approve──▶ approved ─┐
       │   ──part──────▶ partly_approved ─┤──export──▶ (stays; exports are recorded)
       │   ──refuse────▶ refused          └──lapse───▶ expired
       │   ──lapse─────▶ expired   (the deadline passed undecided)
       └───withdraw────▶ withdrawn

An approval can be exported any number of times until it expires; refused,
expired and withdrawn are final.
"""

from __future__ import annotations

from enum import StrEnum

from vault.errors import IllegalTransition, UsageError


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REFUSED = "refused"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Outcome(StrEnum):
    """What a decision decided (a decision row's and its receipt's ``outcome``)."""

    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REFUSED = "refused"


class Action(StrEnum):
    APPROVE = "approve"
    APPROVE_PART = "approve_part"
    REFUSE = "refuse"
    LAPSE = "lapse"  # a deadline (pending) or an approval's expiry passed
    WITHDRAW = "withdraw"
    EXPORT = "export"
    # Only a decision whose owner signature does not verify: it releases
    # nothing, and the owner decides again (vault.service.requests.reopen).
    REOPEN = "reopen"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.PENDING, Action.APPROVE): Status.APPROVED,
    (Status.PENDING, Action.APPROVE_PART): Status.PARTLY_APPROVED,
    (Status.PENDING, Action.REFUSE): Status.REFUSED,
    (Status.PENDING, Action.LAPSE): Status.EXPIRED,
    (Status.PENDING, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.APPROVED, Action.EXPORT): Status.APPROVED,
    (Status.PARTLY_APPROVED, Action.EXPORT): Status.PARTLY_APPROVED,
    (Status.APPROVED, Action.LAPSE): Status.EXPIRED,
    (Status.PARTLY_APPROVED, Action.LAPSE): Status.EXPIRED,
    (Status.APPROVED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.PARTLY_APPROVED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.APPROVED, Action.REOPEN): Status.PENDING,
    (Status.PARTLY_APPROVED, Action.REOPEN): Status.PENDING,
}

FINAL = frozenset({Status.REFUSED, Status.EXPIRED, Status.WITHDRAWN})
OPEN = frozenset({Status.PENDING, Status.APPROVED, Status.PARTLY_APPROVED})
#: The states whose decision releases clips. The outcomes of such decisions
#: are the same strings, so one set answers for a status and for an outcome.
RELEASABLE = frozenset({Status.APPROVED, Status.PARTLY_APPROVED})
assert {o.value for o in (Outcome.APPROVED, Outcome.PARTLY_APPROVED)} == {
    s.value for s in RELEASABLE
}
#: The decision outcome that a decision's new request state records.
OUTCOME = {
    Status.APPROVED: Outcome.APPROVED,
    Status.PARTLY_APPROVED: Outcome.PARTLY_APPROVED,
    Status.REFUSED: Outcome.REFUSED,
}


def transition(current: Status | str, action: Action | str) -> Status:
    """The state after *action*, or IllegalTransition."""
    state = Status(current)
    act = Action(action)
    try:
        return TRANSITIONS[(state, act)]
    except KeyError:
        raise IllegalTransition(
            f"a request that is {state.value.replace('_', ' ')} cannot be {_verb(act)}"
        ) from None


def _verb(action: Action) -> str:
    return {
        Action.APPROVE: "approved",
        Action.APPROVE_PART: "partly approved",
        Action.REFUSE: "refused",
        Action.LAPSE: "expired",
        Action.WITHDRAW: "withdrawn",
        Action.EXPORT: "exported",
        Action.REOPEN: "reopened",
    }[action]


class Kind(StrEnum):
    POLICE = "police"
    INSURER = "insurer"
    COURT = "court"
    NEIGHBOUR = "neighbour"
    OWNER = "owner"
    #: Someone filmed asks for their own footage under data-protection law.
    DATA_SUBJECT = "data-subject"
    OTHER = "other"


class Basis(StrEnum):
    CONSENT = "consent"
    WARRANT = "warrant"
    SUBPOENA = "subpoena"
    COURT_ORDER = "court-order"
    EMERGENCY = "emergency"
    OWNER = "owner"
    DATA_SUBJECT_ACCESS = "data-subject-access"


def parse_choice(enum: type[StrEnum], value: str, field: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise UsageError(f"{field}: {value!r} is not one of {allowed}") from None


def is_urgent(basis: str) -> bool:
    """Emergency claims are shown first; they get no shortcut past the owner."""
    return basis == Basis.EMERGENCY.value
