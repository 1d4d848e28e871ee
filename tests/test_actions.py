"""The protocol's actions are stated once (``pacnet.protocol.actions.ACTIONS``): the type
checker's literal, pydantic's union, the server's handlers and the client's methods cannot
drift from it."""

import re
from typing import get_args

from pacnet.client.remote import RemoteBoard
from pacnet.client.tally import OutcomeTally
from pacnet.protocol.actions import (
    ACTIONS,
    MUTATIONS,
    REPORTED_ACTIONS,
)
from pacnet.protocol.models import Action, CallCount, Request
from pacnet.protocol.outcome import Outcome
from tests.test_pipeline import make_pipeline


def test_the_action_table_is_the_one_list_of_actions() -> None:
    """The ``Action`` literal, the ``Request`` union, the server's handlers and the client's
    methods list exactly the actions of ``ACTIONS``, so none can be added to one and not the
    others."""
    assert set(get_args(Action)) == set(ACTIONS)
    union, _ = get_args(Request)
    assert {model for model in get_args(union)} == {s.request for s in ACTIONS.values()}
    for name, spec in ACTIONS.items():
        assert get_args(spec.request.model_fields["action"].annotation) == (name,)
    assert set(make_pipeline()._actions) == set(ACTIONS)  # the server's one handler per action
    methods = {re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower() for name in ACTIONS}
    assert all(callable(getattr(RemoteBoard, method, None)) for method in methods), methods


def test_a_report_counts_every_action_but_reports() -> None:
    """``CallCount.action``'s literal (what pydantic lets a report carry) is exactly
    ``REPORTED_ACTIONS``, and a client's tally reports those and nothing else."""
    assert set(get_args(CallCount.model_fields["action"].annotation)) == REPORTED_ACTIONS
    assert set(ACTIONS) - REPORTED_ACTIONS == {"report"}
    tally = OutcomeTally()
    for action in [*ACTIONS, "reconnect"]:
        tally.record(action, Outcome.SUCCESS)
    assert {count.action for count in tally.as_counts()} == REPORTED_ACTIONS


def test_mutations_are_the_actions_that_change_the_board() -> None:
    assert frozenset({"join", "move", "remove", "leave"}) == MUTATIONS
