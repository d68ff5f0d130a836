import itertools

import pytest

from vault.errors import IllegalTransition
from vault.requests import FINAL, TRANSITIONS, Action, Status, transition


def test_every_pair_is_in_the_table_or_raises():
    for state, action in itertools.product(Status, Action):
        if (state, action) in TRANSITIONS:
            assert transition(state, action) == TRANSITIONS[(state, action)]
        else:
            with pytest.raises(IllegalTransition):
                transition(state, action)


@pytest.mark.parametrize("state", sorted(FINAL))
def test_final_states_have_no_way_out(state):
    for action in Action:
        with pytest.raises(IllegalTransition):
            transition(state, action)


def test_pending_cannot_be_exported():
    with pytest.raises(IllegalTransition, match="pending cannot be exported"):
        transition(Status.PENDING, Action.EXPORT)


def test_approval_survives_exports_until_it_lapses():
    s = transition(Status.PENDING, Action.APPROVE)
    s = transition(s, Action.EXPORT)
    s = transition(s, Action.EXPORT)
    assert s is Status.APPROVED
    assert transition(s, Action.LAPSE) is Status.EXPIRED
