"""Citizen control (sim.control): who opts out or in, when, and what control is worth."""

import numpy as np
import pytest

from sim import control
from sim.citizens import Citizens
from sim.params import TrustParams
from sim.programmes import Choice
from sim.streams import spread

P = TrustParams()
N_COLS = 8  # the baseline's seven agencies and general trust


class FixedDraws:
    """Streams whose 32-bit draws are all one word, so a test picks a citizen's uniform."""

    def __init__(self, bits: int):
        self.bits_value = bits

    def bits(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        return np.full(size, self.bits_value, np.uint32)


def bits_for(lo: float, hi: float) -> int:
    """A 32-bit draw whose uniform for programme 0 lies in [lo, hi)."""
    return next(b for b in range(1_000_000) if lo <= spread.py_func(b, 0) < hi)


def decide(table, prog, choice, trust, salience=0.0, draw=(0.0, 0.01), concern=0.5,
           consent="opt_out", partner=-1, params=P, **programme):
    """One consent step for citizens who all have this trust in every column."""
    n = choice.shape[0]
    c = Citizens(n, N_COLS, 1)
    c.choice[:] = choice
    c.trust[:] = trust
    c.salience[:] = salience
    c.concern[:] = concern
    c.partner[:] = partner
    programmes = [prog(consent=consent, **{"friction": 0.0, **programme})]
    plan = control.ControlPlan.build(table(*programmes), params, programmes)
    out = control.step(plan, c, FixedDraws(bits_for(*draw)), 1, 1)
    choice[:] = c.choice
    return c, out


def test_low_trust_alone_is_not_enough_a_salient_trigger_is_needed(table, prog):
    choice = np.zeros((5, 1), np.int8)
    decide(table, prog, choice, 0.05)
    assert (choice == Choice.DEFAULT).all()
    _, out = decide(table, prog, choice, 0.05, salience=1.0)
    assert (choice == Choice.OUT).all() and out.tolist() == [5]


def test_high_trust_citizens_stay_in_even_when_alerted(table, prog):
    choice = np.zeros((5, 1), np.int8)
    decide(table, prog, choice, 0.9, salience=1.0, deadline=1, deadline_salience=1.0)
    assert (choice == Choice.DEFAULT).all()


def test_a_deadline_alone_prompts_the_distrustful(table, prog):
    choice = np.zeros((5, 1), np.int8)
    decide(table, prog, choice, 0.05, deadline=1, deadline_salience=1.0)
    assert (choice == Choice.OUT).all()


def test_hysteresis_opting_back_in_needs_trust_well_above_threshold(table, prog):
    theta = control.threshold(0.5, P)
    choice = np.full((1, 1), Choice.OUT, np.int8)
    draw = (0.0, P.rejoin_rate / 2)
    decide(table, prog, choice, theta + 0.5 * P.hysteresis, draw=draw)
    assert choice[0, 0] == Choice.OUT  # between threshold and threshold + hysteresis: stays out
    decide(table, prog, choice, theta + 1.5 * P.hysteresis, draw=draw)
    assert choice[0, 0] == Choice.DEFAULT


def test_word_of_mouth_a_partner_who_opted_out_alerts(table, prog):
    choice = np.array([[Choice.DEFAULT], [Choice.OUT]], np.int8)
    decide(table, prog, choice, 0.05, partner=1, draw=(0.04, 0.06))
    assert choice[0, 0] == Choice.OUT  # u < act (1) * word_of_mouth (0.1)
    choice = np.array([[Choice.DEFAULT], [Choice.DEFAULT]], np.int8)
    decide(table, prog, choice, 0.05, partner=1, draw=(0.04, 0.06))
    assert (choice == Choice.DEFAULT).all()  # a partner still in alerts no one


def test_more_concerned_citizens_have_higher_thresholds():
    assert control.threshold(0.9, P) > control.threshold(0.5, P) > control.threshold(0.1, P)
    np.testing.assert_array_equal(control.threshold(np.array([0.1, 0.9]), P),
                                  [control.threshold(0.1, P), control.threshold(0.9, P)])


def test_opt_in_joins_when_trusting_and_prompted(table, prog):
    choice = np.zeros((3, 1), np.int8)
    decide(table, prog, choice, 0.9, consent="opt_in", deadline=1, deadline_salience=1.0)
    assert (choice == Choice.IN).all()


def test_salience_fades_and_faint_salience_is_flushed(table, prog):
    choice = np.zeros((1, 1), np.int8)
    params = P.model_copy(update={"salience_fade": 0.5})
    c, _ = decide(table, prog, choice, 0.9, salience=1.0, draw=(0.99, 1), params=params)
    assert c.salience[0, 0] == pytest.approx(0.5)
    c, _ = decide(table, prog, choice, 0.9, salience=control.SALIENCE_FLOOR / 2,
                  draw=(0.99, 1), params=params)
    assert c.salience[0, 0] == 0


def test_deadline_prompt_builds_up_and_stops_after(prog):
    p = prog().changed(deadline=10, deadline_salience=1.0)
    prompts = [control.deadline_prompt([p], t, 2.0)[0] for t in (4, 8, 10, 11)]
    assert prompts[0] < prompts[1] < prompts[2] == pytest.approx(1.0)
    assert prompts[3] == 0
    assert control.deadline_prompt([p.changed(active=False)], 9, 2.0)[0] == 0  # paused


def test_control_level_orders_regimes_and_dashboard_adds(table, prog):
    levels = [control.control_level(table(prog(consent=c)), P)[0]
              for c in ("none", "opt_out", "opt_in", "dynamic")]
    assert levels == sorted(levels) and levels[0] == 0
    assert control.control_level(table(prog(dashboard=True)), P)[0] > levels[1]


def test_initial_opt_outs_sit_with_the_least_trusting(table, prog):
    n = 1_000
    c = Citizens(n, N_COLS, 1)
    c.trust[:] = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    programme = prog(initial_opt_out=0.1)
    control.initial_choices(c, table(programme), 0, programme,
                            P.model_copy(update={"initial_choice_noise": 0.0}),
                            np.random.default_rng(0))
    out = np.flatnonzero(c.choice[:, 0] == Choice.OUT)
    assert len(out) == 100 and out.max() < 100
