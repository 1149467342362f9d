"""Institutional response (sim.institutions): a programme's own rule pauses, cancels or reforms
it when its opt-outs or its news cross a threshold, in the week the rule says and not before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim import TrustModel, events
from sim.institutions import Action
from sim.programmes import Programme

#: a press story and an opt-out deadline: opt-outs of p rise from about 3% to about 6%
STORY = [events.Scandal(step=3, programme="p", severity=0.5, publicity=0.9),
         events.OptOutDeadline(step=3, programme="p", deadline=9, salience=0.8)]
STEPS = 20


def world(**fields) -> list[Programme]:
    """p offers an opt-out; q none, so ``opt_out_rate`` is the share opted out of p."""
    return [Programme(name="p", holder="nhs", recipient="university", initial_opt_out=0.03,
                      awareness=0.4, **fields),
            Programme(name="q", holder="council", recipient="university", consent="none")]


def run(programmes, timeline=STORY, seed=1) -> tuple[TrustModel, pd.DataFrame, np.ndarray]:
    """The model after ``STEPS`` weeks, its time series and p's mean salience at each week's
    end (row 0: the start)."""
    model = TrustModel(2_000, programmes=programmes, events=list(timeline), rng=seed,
                       citizen_agents=False)
    salience = [model.citizens.salience[:, 0].mean(dtype=np.float64)]
    for _ in range(STEPS):
        model.step()
        salience.append(model.citizens.salience[:, 0].mean(dtype=np.float64))
    return model, model.timeseries(), np.array(salience)


def first_above(values, threshold: float) -> int:
    above = np.flatnonzero(np.asarray(values) > threshold)
    assert len(above), "the threshold is never crossed"
    return int(above[0])


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("after", [0, 3])
def test_the_rule_pauses_once_opt_outs_cross_its_threshold_and_not_before(seed, after):
    _, plain, _ = run(world(), seed=seed)
    crossed = first_above(plain.opt_out_rate, 0.04)
    assert crossed > 3  # the story drives it over
    model, ruled, _ = run(world(response={"opt_out_above": 0.04, "after_weeks": after}),
                          seed=seed)
    acts = crossed + after + 1  # read at the start of the next week, then after_weeks more
    assert model.watch.actions == [Action(acts, "p", "pause", "opt_out", crossed)]
    pd.testing.assert_frame_equal(ruled.iloc[:acts], plain.iloc[:acts])  # nothing before
    assert ruled.coverage_p.iloc[acts - 1] > 0 and (ruled.coverage_p.iloc[acts:] == 0).all()
    assert model.programmes[0].response is None  # the rule is spent


def test_a_threshold_never_crossed_changes_nothing():
    _, plain, _ = run(world())
    model, ruled, _ = run(world(response={"opt_out_above": plain.opt_out_rate.max() + 0.01}))
    pd.testing.assert_frame_equal(ruled, plain)
    assert model.watch.actions == []


def test_the_rule_can_watch_the_salience_of_the_news():
    salience = run(world())[2]
    crossed = first_above(salience, 0.3)
    model, ruled, _ = run(world(response={"salience_above": 0.3}))
    assert model.watch.actions == [Action(crossed + 1, "p", "pause", "salience", crossed)]
    assert (ruled.coverage_p.iloc[crossed + 1:] == 0).all()


def test_a_reform_changes_the_programme_and_it_goes_on():
    changes = {"transparency": 0.9, "deadline": None, "deadline_salience": 0.0}
    model, ruled, _ = run(world(response={"opt_out_above": 0.04, "action": "reform",
                                          "changes": changes}))
    (action,) = model.watch.actions
    p = model.programmes[0]
    assert (p.transparency, p.deadline, p.active, p.response) == (0.9, None, True, None)
    assert (ruled.coverage_p.iloc[action.step:] > 0).all()


def test_a_cancelled_programme_does_not_resume_and_a_paused_one_does():
    resume = events.Resume(step=15, programme="p")
    paused, _, _ = run(world(response={"opt_out_above": 0.04}), [*STORY, resume])
    cancelled, _, _ = run(world(response={"opt_out_above": 0.04, "action": "cancel"}),
                          [*STORY, resume])
    assert paused.programmes[0].active and paused.watch.actions[0].step < 15
    assert not cancelled.programmes[0].active and "p" in cancelled.cancelled


def test_a_rule_changed_before_it_acts_starts_again():
    later = events.PolicyChange(step=7, programme="p",
                                changes={"response": {"opt_out_above": 0.04, "after_weeks": 5}})
    _, plain, _ = run(world())
    crossed = first_above(plain.opt_out_rate, 0.04)
    assert crossed < 7 < crossed + 10
    model, _, _ = run(world(response={"opt_out_above": 0.04, "after_weeks": 10}),
                      [*STORY, later])
    # rules act before the week's events: the new rule is first read at the start of week 8,
    # on the state at the end of week 7, and acts 5 weeks later
    assert model.watch.actions == [Action(7 + 1 + 5, "p", "pause", "opt_out", 7)]


@pytest.mark.parametrize(("response", "message"), [
    ({"after_weeks": 3}, "give opt_out_above or salience_above"),
    ({"opt_out_above": 0.04, "action": "reform"}, "a reform needs the changes"),
    ({"opt_out_above": 0.04, "changes": {"active": True}}, "cannot set active"),
    ({"opt_out_above": 0.04, "action": "reform", "changes": {"transparncy": 0.9}},
     "response.changes: transparncy"),
    ({"opt_out_above": 0.04, "action": "reform", "changes": {"value": {"unit": "gbp",
                                                                       "per_citizen_year": 1}}},
     "fixed for a run"),
])
def test_a_rule_that_cannot_act_is_refused(response, message):
    with pytest.raises(ValidationError, match=message):
        Programme(name="p", holder="nhs", recipient="nhs", response=response)
