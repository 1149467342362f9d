"""Every field a scenario can set changes something, or is documented as a label only.

Each field of a programme (with its mandate and barriers) and of each event type is changed
alone, within its allowed range, in a small world on common random numbers; some output's mean
must move beyond seed noise (a paired t test over the seeds). A field may need a
context to act in (a deadline's date acts only when the deadline prompts): the context is set
in both arms and only the field differs. Policies set programme fields (their levers are those
fields, sim.scenario.POLICY_LEVERS) at their step: covered by the programme fields and by the
``step`` of a PolicyChange.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import TrustModel, baseline, events
from sim.catchment import Catchment
from sim.programmes import Barriers, Blame, Mandate, Programme, Response
from sim.scenario import POLICY_LEVERS
from sim.valuation import Evidence, Harm, Value

SEEDS = (1, 2, 3, 4, 5)
N, STEPS = 2_000, 30
T = 2.78  # Student's t at 97.5% with four degrees of freedom
MODEL_MD = Path(__file__).resolve().parents[1] / "docs" / "model.md"

#: Fields that only name things (documented in docs/model.md, "Label-only fields").
LABEL_ONLY = {"Programme.name", "Programme.value.source", "Programme.harm.source",
              "Programme.evidence.source", "Programme.evidence.unit"}

#: The focal programme "p" and a second one "q" that events can be moved to.
FOCAL = {"name": "p", "holder": "nhs", "recipient": "university"}
OTHER = {"name": "q", "holder": "council", "recipient": "university", "consent": "none",
         "breach_rate": 0.0}
#: What happens in every run: a story about p, a breach of p.
TIMELINE = [events.Scandal(step=5, programme="p", severity=0.5, publicity=0.6),
            events.Breach(step=10, programme="p", severity=0.5, publicity=0.5)]
#: a pause from week 8 in both arms, for the Resume case
PAUSED = events.Pause(step=8, programme="p")
BREACHY = {"breach_rate": 20.0}  # a context in which breaches happen often (about 4 a run)
GBP = {"unit": "gbp", "per_citizen_year": 10.0}  # an amount in a real unit

#: field -> (context set in both arms, the field's value in the second arm)
PROGRAMME_CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "holder": ({}, "council"),
    "recipient": ({}, "supplier"),
    "purpose": ({}, "commercial"),
    "uses": ({}, {"planning_research": 0.5, "commercial": 0.5}),
    "legal_basis": ({}, "statute"),
    "consent": ({}, "none"),
    "dashboard": ({}, True),
    "transparency": ({}, 0.9),
    "announced": ({}, False),
    "security": (BREACHY, 0.2),
    "sensitivity": ({}, 0.9),
    "n_recipients": (BREACHY, 20),
    "breach_rate": ({}, 20.0),
    "severity": (BREACHY, 0.8),
    "publicity": (BREACHY, 0.9),
    "discovery_rate": ({"announced": False}, 20.0),
    "benefit": ({}, 1.0),
    "friction": ({}, 0.3),
    "awareness": ({}, 0.9),
    "initial_opt_out": ({}, 0.05),
    "initial_opt_in": ({"consent": "opt_in", "legal_basis": "consent"}, 0.15),
    "active": ({}, False),
    "deadline": ({"deadline": 20, "deadline_salience": 0.8}, 28),
    "deadline_salience": ({"deadline": 20}, 0.8),
    "mandate.strength": ({}, 0.8),
    "mandate.public_interest_test": ({"mandate": {"strength": 0.8}}, 0.9),
    "mandate.oversight": ({"mandate": {"strength": 0.8}}, 0.9),
    "barriers.interoperability": ({}, 0.5),
    "barriers.data_quality": ({}, 0.5),
    "barriers.legal_clarity": ({}, 0.5),
    "barriers.willingness": ({}, 0.5),
    "blame.holder": ({}, 0.9),
    "blame.recipient": ({}, 0.2),
    "blame.government": ({}, 0.1),
    "catchment.regions": ({}, ["london", "south_east"]),
    "catchment.sex": ({}, ["female"]),
    "catchment.age_bands": ({}, ["18-29", "30-39", "40-49"]),
    "catchment.deprivation": ({}, [1, 2]),
    "catchment.share": ({}, 0.3),
    "subjects": ({}, "businesses"),
    "citizen_share": ({"subjects": "businesses"}, 0.5),
    "publicity_scope": ({"catchment": {"regions": ["london"]}}, "local"),
    # real units: a benefit and a harm in pounds; the unit decides which total an amount joins
    "value.unit": ({"value": GBP, "harm": GBP}, "qaly"),
    "value.per_citizen_year": ({"value": GBP}, 20.0),
    "value.depends_on": ({"value": {**GBP, "depends_on": []}}, ["age_band"]),
    "harm.unit": ({"value": GBP, "harm": GBP}, "qaly"),
    "harm.per_citizen_year": ({"harm": GBP}, 20.0),
    "evidence.per_citizen_year": ({"evidence": GBP}, 20.0),
    "evidence.depends_on": ({"evidence": {**GBP, "depends_on": []}}, ["age_band"]),
    # a decision rule: one that never acts against one that acts at once (or later, or otherwise)
    "response.opt_out_above": ({"response": {"opt_out_above": 0.9}}, 0.001),
    "response.salience_above": ({"response": {"salience_above": 100.0}}, 0.05),
    "response.after_weeks": ({"response": {"opt_out_above": 0.001}}, 15),
    "response.action": ({"response": {"opt_out_above": 0.001,
                                      "changes": {"transparency": 0.9}}}, "reform"),
    "response.changes": ({"response": {"opt_out_above": 0.001, "action": "reform",
                                       "changes": {"transparency": 0.2}}},
                         {"transparency": 0.9}),
}

#: (event, field, value in the second arm): the event is added to the timeline of both arms
EVENT_CASES: list[tuple[Any, str, Any]] = [
    (events.Breach(step=12, programme="p"), "step", 28),
    (events.Breach(step=12, programme="p"), "programme", "q"),
    (events.Breach(step=12, programme="p", severity=0.3), "severity", 0.9),
    (events.Breach(step=12, programme="p", publicity=0.2), "publicity", 0.9),
    (events.Scandal(step=12, programme="p"), "severity", 0.9),
    (events.Scandal(step=12, programme="p"), "publicity", 0.9),
    (events.Breach(step=12, programme="p"), "blame", Blame(holder=1.0)),
    (events.Scandal(step=12, programme="p"), "blame", Blame(recipient=0.1)),
    (events.Campaign(step=12, programme="p"), "strength", 1.0),
    (events.Campaign(step=12, programme="p"), "reach", 1.0),
    (events.Campaign(step=12, programme="p"), "duration", 10),
    (events.OptOutDeadline(step=20, programme="p", deadline=22), "deadline", 28),
    (events.OptOutDeadline(step=20, programme="p", deadline=22), "salience", 1.0),
    (events.Pause(step=12, programme="p"), "duration", 3),
    (events.Resume(step=12, programme="p"), "step", 24),  # after PAUSED, below
    # two fields whose effect is systematic: a higher breach rate as well made the comparison
    # hang on whether one seed drew a breach (its t fell below the bar with other draws)
    (events.PolicyChange(step=12, programme="p", changes={"security": 0.2}), "changes",
     {"security": 0.9, "transparency": 0.9}),
]


def world(**fields: Any) -> list[Programme]:
    return [Programme(**{**FOCAL, **fields}), Programme(**OTHER)]


def means(programmes: list[Programme], timeline: list[Any], seed: int) -> pd.Series:
    """Each output's mean over the run (the focal programme's outputs under fixed names)."""
    m = TrustModel(N, agencies=baseline.AGENCIES, programmes=programmes,
                   events=sorted(timeline, key=lambda e: e.step), rng=seed, citizen_agents=False)
    for _ in range(STEPS):
        m.step()
    df = m.timeseries().drop(columns="step")
    df.columns = [re.sub(f"_{programmes[0].name}$", "_focal", c) for c in df.columns]
    return df.mean()


def moves(first: tuple, second: tuple) -> bool:
    """Whether some output's mean moves beyond seed noise between the two arms: the paired
    difference (same seeds) is more than T times its standard error across the seeds (a t test
    at about 95% with four degrees of freedom), and not a rounding difference."""
    a = pd.DataFrame([means(*first, seed) for seed in SEEDS])
    b = pd.DataFrame([means(*second, seed) for seed in SEEDS])
    d = b - a
    effect, se = d.mean().abs(), d.std().fillna(0.0) / np.sqrt(len(SEEDS))
    return bool(((effect > T * se) & (effect > 1e-7)).any())


def test_every_programme_field_is_covered_or_a_label():
    nested = {"mandate": Mandate, "barriers": Barriers, "blame": Blame, "catchment": Catchment,
              "value": Value, "harm": Harm, "evidence": Evidence, "response": Response}
    fields = {f for f in Programme.model_fields if f not in nested}
    for outer, model in nested.items():
        fields |= {f"{outer}.{f}" for f in model.model_fields}
    covered = set(PROGRAMME_CASES) | {label.split(".", 1)[1] for label in LABEL_ONLY}
    assert fields == covered, fields ^ covered
    assert set(POLICY_LEVERS) <= {f.split(".")[0] for f in PROGRAMME_CASES}


def test_every_event_field_is_covered():
    for cls in events.EVENT_TYPES:
        fields = set(cls.model_fields) - {"type"}
        covered = {f for e, f, _ in EVENT_CASES if type(e) is cls}
        if cls is not events.Breach:  # step and programme are shown once, on breaches
            covered |= {"step", "programme"}
        assert fields == covered, (cls.__name__, fields ^ covered)


@pytest.mark.parametrize("field", sorted(PROGRAMME_CASES))
def test_a_programme_field_changes_an_output(field):
    context, value = PROGRAMME_CASES[field]
    if "." in field:
        outer, inner = field.split(".")
        changed = {outer: {**context.get(outer, {}), inner: value}}
    else:
        changed = {field: value}
    second = world(**{**context, **changed})
    assert moves((world(**context), TIMELINE), (second, TIMELINE)), \
        f"{field}: no output moved beyond seed noise"


@pytest.mark.parametrize(("event", "field", "value"), EVENT_CASES,
                         ids=[f"{type(e).__name__}.{f}" for e, f, _ in EVENT_CASES])
def test_an_event_field_changes_an_output(event, field, value):
    other = event.model_copy(update={field: value})
    timeline = [*TIMELINE, PAUSED] if isinstance(event, events.Resume) else TIMELINE
    assert moves((world(), [*timeline, event]), (world(), [*timeline, other])), \
        f"{type(event).__name__}.{field}: no output moved beyond seed noise"


def test_label_only_fields_are_documented():
    text = MODEL_MD.read_text(encoding="utf-8")
    section = text[text.index("### 8.6 Label-only fields"):]
    section = section[:section.index("\n## ")]
    for label in LABEL_ONLY:
        assert f"- `{label.split('.', 1)[1]}`" in section, label
