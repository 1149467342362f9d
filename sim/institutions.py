"""Institutional response: programmes paused, cancelled or reformed by their own decision rules.

Besides the timeline's scheduled events, a programme can carry a rule (``Programme.response``):
once the share of citizens opted out of it, or the mean salience of its news, is above a
threshold, the holder acts after a fixed delay: it pauses the programme (GPDPR was paused about
10 weeks after the notice to practices, 12 May to 19 July 2021), cancels it for good (care.data
was scrapped in July 2016) or reforms it (changes some of its fields). The rule reads the state
the previous week left, at the start of each week before the timeline's events, and acts once.
Nothing is random: the same run crosses the same threshold in the same week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.citizens import Citizens
from sim.programmes import Choice, ProgrammeTable, Regime, Response, ResponseAction

if TYPE_CHECKING:
    from sim.model import TrustModel


@dataclass(frozen=True)
class Action:
    """A rule's action: the week it applied, the programme, what was done, which threshold was
    crossed and the week whose end first showed it."""

    step: int
    programme: str
    action: str
    threshold: str
    crossed: int


@dataclass
class Watch:
    """What the rules have seen: for each programme whose threshold has been crossed, its rule
    and the week of the crossing; and every action taken, in order."""

    crossed: dict[str, tuple[Response, int, str]] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)


def opted_out(citizens: Citizens, table: ProgrammeTable, p: int) -> float:
    """Share of citizens opted out of programme ``p`` (0 where its regime offers no choice), as
    ``opt_out_rate`` counts them."""
    if table.regime[p] == Regime.NONE:
        return 0.0
    return float(np.count_nonzero(citizens.choice[:, p] == Choice.OUT)) / citizens.n


def salience(citizens: Citizens, p: int) -> float:
    """Mean salience of programme ``p``'s news over the citizens."""
    return float(citizens.salience[:, p].mean(dtype=np.float64))


def crossed(rule: Response, citizens: Citizens, table: ProgrammeTable, p: int) -> str | None:
    """Which of the rule's thresholds the state is above (``opt_out``, then ``salience``), or
    None."""
    if rule.opt_out_above is not None and opted_out(citizens, table, p) > rule.opt_out_above:
        return "opt_out"
    if rule.salience_above is not None and salience(citizens, p) > rule.salience_above:
        return "salience"
    return None


def step(model: TrustModel, t: int) -> None:
    """At the start of week ``t``: each rule reads the state at the end of week ``t - 1``; a
    threshold crossed there starts its clock, and ``after_weeks`` weeks later the action
    applies (now, if ``after_weeks`` is 0). A rule that changes before it acts starts again."""
    watch = model.watch
    for p, prog in enumerate(model.programmes):
        rule = prog.response
        seen = watch.crossed.get(prog.name)
        if rule is None or (seen is not None and seen[0] != rule):
            watch.crossed.pop(prog.name, None)
            seen = None
        if rule is None:
            continue
        if seen is None:
            threshold = crossed(rule, model.citizens, model.table, p)
            if threshold is None:
                continue
            seen = watch.crossed[prog.name] = (rule, t - 1, threshold)
        if t - 1 - seen[1] >= rule.after_weeks:
            act(model, prog.name, rule)
            watch.crossed.pop(prog.name)
            watch.actions.append(Action(t, prog.name, rule.action.value, seen[2], seen[1]))


def act(model: TrustModel, name: str, rule: Response) -> None:
    """Apply the rule's action to programme ``name``; the rule is spent (``response`` unset)."""
    changes = {**rule.changes, "response": None}
    if rule.action is not ResponseAction.REFORM:
        changes["active"] = False
    if rule.action is ResponseAction.CANCEL:
        model.cancelled.add(name)
    model.update_programme(name, **changes)
