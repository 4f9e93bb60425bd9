"""Every plan rule (review/plan_rules/) flags the change it carries as flagged, and leaves the one
it carries as unflagged alone: a rule that stops acting, or starts flagging the ordinary, fails here."""

from __future__ import annotations

import pytest

from review.plan_review import action_of
from review.plan_risks import RULES, risks_of
from review.plan_rules.base import KINDS


def _flagged_by(plan_rule, example):
    change = example.change()
    return [risk for risk in risks_of(change, action_of(change)) if risk.rule == plan_rule.id]


@pytest.mark.parametrize("plan_rule", RULES, ids=lambda r: r.id)
def test_a_rule_flags_its_flagged_example_and_not_its_unflagged_one(plan_rule):
    assert _flagged_by(plan_rule, plan_rule.flagged), f"{plan_rule.id} does not flag its flagged example"
    assert _flagged_by(plan_rule, plan_rule.unflagged) == [], f"{plan_rule.id} flags its unflagged example"


def test_rules_have_unique_ids_a_known_kind_and_an_explanation():
    assert len({r.id for r in RULES}) == len(RULES)
    assert all(r.kind in KINDS and r.title and len(r.explanation) > 20 for r in RULES)
    assert {r.kind for r in RULES} == set(KINDS)
