"""Both cores for one run (sim.parallel): the numbers are the same whatever the thread count
and however the citizens are cut into chunks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from experiments.fingerprint import fingerprint
from experiments.mesa_reference import STRESS_CAMPAIGNS, stress_world
from sim import TrustModel, parallel
from sim import scenario as sc


def _stress(threads: int) -> TrustModel:
    model = TrustModel(6_000, programmes=stress_world(), rng=3, citizen_agents=False,
                       threads=threads)
    for p, strength, reach in STRESS_CAMPAIGNS:
        model.campaign(model.programmes[p].name, strength, reach)
    for _ in range(12):
        model.step()
    return model


def _catchment(threads: int) -> TrustModel:
    scenario = sc.load(sc.bundled.find("royal_free_deepmind"))
    model = scenario.build(rng=5, n_citizens=6_000, citizen_agents=False, threads=threads)
    for _ in range(12):
        model.step()
    return model


@pytest.mark.parametrize("run", [_stress, _catchment], ids=["stress", "catchment"])
def test_one_and_several_threads_give_identical_outputs(run, monkeypatch) -> None:
    one = fingerprint(run(1))
    monkeypatch.setattr(parallel, "CHUNK", parallel.SUM_SPAN)  # many chunks, all kernels
    assert fingerprint(run(2)) == one
    assert fingerprint(run(3)) == one


def test_chunks_are_fixed_by_the_population_alone() -> None:
    ranges = parallel.chunks(10_000, size=2_048)
    assert ranges[0] == (0, 2_048) and ranges[-1][1] == 10_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(start % parallel.SUM_SPAN == 0 for start, _ in ranges)
    places = np.array([100, 3_000, 3_100, 9_000, 10_000])
    assert parallel.chunks(10_000, places, 2_048) == [(0, 3_000), (3_000, 9_000),
                                                        (9_000, 10_000)]
    assert parallel.Pool(2, 2_048).ranges(10_000) == ranges
    assert parallel.Pool(1).ranges(10_000) == [(0, 10_000)]
    for n, size in itertools.product([0, 1, 1_023, 1_024, 5_000, 8_192, 70_001, 131_072],
                                     [1_024, 2_048, 65_536]):  # the default cuts' shortcut
        every_span = list(range(parallel.SUM_SPAN, n, parallel.SUM_SPAN))
        assert parallel.chunks(n, size=size) == parallel.chunks(n, every_span, size)
    with pytest.raises(ValueError, match="threads"):
        parallel.Pool(0)


def test_a_model_with_threads_can_be_copied() -> None:
    import copy

    model = TrustModel(2_000, rng=1, citizen_agents=False, threads=2)
    model.step()
    twin = copy.deepcopy(model)
    assert twin.pool.threads == 2
    twin.step()
    model.step()
    np.testing.assert_array_equal(twin.citizens.trust, model.citizens.trust)


def test_grievances_of_a_catchment_share_are_the_same_in_chunks() -> None:
    """A catchment of a share of citizens draws membership by the citizen's number: a chunk
    must pass its first number on (every citizen aware, every programme public)."""
    from dataclasses import replace

    scenario = sc.load(sc.bundled.find("royal_free_deepmind"))
    model = scenario.build(rng=5, n_citizens=6_000, citizen_agents=False)
    c = model.citizens
    c.aware[:] = 1
    n_prog = len(model.programmes)
    plan = replace(model.plans.control, visible=np.ones(n_prog, bool),
                   constant=np.full(n_prog, -5.0, np.float32), flow_consent=np.ones(n_prog),
                   flow_refused=np.ones(n_prog), illegitimacy=np.full(n_prog, 0.5, np.float32))
    assert (plan.subject_share < 1).any()
    willing = plan.attitudes(c)
    serial = c.grievance.copy()
    c.grievance[:] = -1
    assert (plan.attitudes(c, pool=parallel.Pool(2, parallel.SUM_SPAN)) == willing).all()
    np.testing.assert_array_equal(c.grievance, serial)
    assert (serial[:, plan.subject_share < 1] > 0).any()


@pytest.mark.parametrize("n", [1, 2_048, 100_001])
def test_a_span_of_draws_is_that_part_of_the_whole_draw(n: int) -> None:
    """A chunk draws its own partner uniforms and choice words (sim.streams): the same numbers
    as the elements of the whole draw."""
    from sim.streams import Streams, seed_sequence

    streams = Streams(seed_sequence(4))
    uniform, bits = streams.uniform("partner", 3, n), streams.bits("choice", 3, n, 1)
    for start, stop in parallel.chunks(n, size=parallel.SUM_SPAN):
        np.testing.assert_array_equal(streams.uniform_span("partner", 3, start, stop),
                                      uniform[start:stop])
        np.testing.assert_array_equal(streams.bits_span("choice", 3, start, stop, 1),
                                      bits[start:stop])
    with pytest.raises(ValueError, match="even"):
        streams.uniform_span("partner", 3, 1, 5)


@pytest.mark.parametrize("start", [2, 2_048, 65_536 * 17, 2**40, 2**63 - 2])
def test_a_compiled_span_jumps_ahead_as_numpy_advances(start: int) -> None:
    """A span's draws come from the compiled PCG64 jumped ahead (sim.streams._pcg64_advance):
    the same numbers as numpy's generator after its ``advance``, near and far."""
    from sim.streams import Streams, seed_sequence

    streams = Streams(seed_sequence(9))
    assert streams._compiled
    stop = start + 1_001
    np.testing.assert_array_equal(streams.uniform_span("partner", 5, start, stop),
                                  streams._from("partner", 5, start, ()).random(
                                      1_001, dtype=np.float32))
    np.testing.assert_array_equal(streams.bits_span("choice", 5, start, stop, 2),
                                  streams._from("choice", 5, start, (2,)).integers(
                                      0, 2**32, 1_001, dtype=np.uint32))
    words = np.empty(7)
    streams._fill("victims", 5, (1,), words, start // 2)
    np.testing.assert_array_equal(words, streams._from("victims", 5, start, (1,)).random(7))


@pytest.mark.parametrize("root", [0, 1, 2**40 + 3, 2**200 + 7, None, "spawned", "wide key"])
def test_draws_seeded_from_the_seed_words_are_the_seed_sequence_draws(root) -> None:
    """A step's draws seed PCG64 from the words its SeedSequence would mix
    (sim.streams.seed_state) and draw whole arrays with a compiled PCG64: the same state and
    numbers as numpy's through the SeedSequence, for any root seed and key."""
    from sim.streams import Streams

    if root == "spawned":
        root = np.random.SeedSequence(5).spawn(3)[2]
    elif root == "wide key":
        root = np.random.SeedSequence(5, spawn_key=(2**40, 0, 1))
    else:
        root = np.random.SeedSequence(root)
    streams = Streams(root)
    assert streams._prefix is not None
    for name, step, sub in [("partner", 0, ()), ("choice", 7, (0,)), ("victims", 2**31, (4, 0)),
                            ("severity", 3, (2**32 - 1, 0, 9))]:
        whole = streams.generator(name, step, *sub)
        assert streams._draws(name, step, sub).bit_generator.state == whole.bit_generator.state
        np.testing.assert_array_equal(streams.uniform(name, step, 9, *sub),
                                      whole.random(9, dtype=np.float32))
        for size in (0, 1, 2, 1_001):  # the compiled PCG64 (sim.streams): numpy's numbers
            np.testing.assert_array_equal(
                streams.bits(name, step, size, *sub),
                streams.generator(name, step, *sub).integers(0, 2**32, size, dtype=np.uint32))
            np.testing.assert_array_equal(
                streams.uniform(name, step, size, *sub),
                streams.generator(name, step, *sub).random(size, dtype=np.float32))
            np.testing.assert_array_equal(streams.random(name, step, size, *sub),
                                          streams.generator(name, step, *sub).random(size))
    beyond = streams._draws("partner", 2**32, ())  # a key beyond 32 bits: SeedSequence's own
    assert beyond.bit_generator.state == streams.generator("partner", 2**32).bit_generator.state


def test_the_command_line_takes_threads_and_writes_the_same_files(tmp_path, monkeypatch
                                                                   ) -> None:
    from sim.cli import main

    monkeypatch.setattr(parallel, "CHUNK", parallel.SUM_SPAN)
    for threads in (1, 2):
        assert main(["run", "baseline", "--citizens", "3000", "--steps", "3", "--replicates",
                     "1", "--threads", str(threads), "--out", str(tmp_path / str(threads)),
                     "--quiet"]) == 0
    for name in ("timeseries.csv", "regions.csv", "groups.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def _set_up(threads: int, **kwargs) -> TrustModel:
    return TrustModel(5_000, rng=2, citizen_agents=False, threads=threads, **kwargs)


@pytest.mark.parametrize("world", ["default", "stress"])
def test_set_up_is_the_same_on_several_threads(world, monkeypatch) -> None:
    """The set-up's parallel parts (the draws' tasks beside the network's build, the starting
    awareness in chunks, the constants' sums chunk by chunk, the starting trust means) give
    every array of one thread, with many chunks; and the first steps follow."""
    from sim.citizens import STATE

    kwargs = {"programmes": stress_world()} if world == "stress" else {}
    one = _set_up(1, **kwargs)
    monkeypatch.setattr(parallel, "CHUNK", parallel.SUM_SPAN)
    two = _set_up(2, **kwargs)
    for var in STATE:
        np.testing.assert_array_equal(getattr(two.citizens, var.name),
                                      getattr(one.citizens, var.name), err_msg=var.name)
    for name in ("back", "ahead", "left", "right", "far", "partner"):
        np.testing.assert_array_equal(getattr(two.ties, name), getattr(one.ties, name))
    assert two.consent_constant.tobytes() == one.consent_constant.tobytes()
    assert two._trust_start.tobytes() == one._trust_start.tobytes()
    for _ in range(3):
        one.step()
        two.step()
    assert fingerprint(two) == fingerprint(one)


def test_the_stationary_shares_sum_in_citizen_order_in_chunks() -> None:
    from sim.control import _stationary

    rng = np.random.default_rng(3)
    base = rng.normal(0, 2, 10_000).astype(np.float32)
    aware = (rng.random(10_000) < 0.6).astype(np.int8)
    scratch = np.empty(10_000)
    serial = _stationary(base, aware, 0.3, 1.5, scratch)
    expected = sum(float(x) for x, a in zip(scratch, aware, strict=True) if a) / 10_000
    assert serial == expected
    assert _stationary(base, aware, 0.3, 1.5, np.empty(10_000),
                       parallel.Pool(2, parallel.SUM_SPAN)) == serial


def test_the_sharing_step_is_the_same_in_chunks() -> None:
    """Flows by segment are float64 sums in citizen order: chunk by chunk in turn they are
    the same as in one pass (a catchment world: cell-by-cell flows too)."""
    from sim import sharing

    scenario = sc.load(sc.bundled.find("royal_free_deepmind"))
    model = scenario.build(rng=5, n_citizens=6_000, citizen_agents=False)
    c, plan = model.citizens, model.plans.sharing
    culture = np.linspace(0.9, 1.1, len(plan.regime))
    start = c.expectation.copy()
    results = []
    for pool in (parallel.SERIAL, parallel.Pool(2, parallel.SUM_SPAN)):
        c.expectation[:] = start
        cover, represent = sharing.step(plan, c, model.member_count, culture, pool)
        results.append((cover.tobytes(), represent.tobytes(), c.benefit.tobytes(),
                        c.gap.tobytes(), c.expectation.tobytes()))
    assert results[0] == results[1]


def test_a_started_pass_runs_beside_this_threads_work() -> None:
    """Pool.start hands a pass's chunks to the other threads at once; a pass run meanwhile
    from this thread runs here, chunk by chunk; joining takes what is left and waits; an
    error in a chunk reaches the joining thread."""
    import threading

    pool = parallel.Pool(2, parallel.SUM_SPAN)
    ranges = parallel.chunks(64 * parallel.SUM_SPAN, size=parallel.SUM_SPAN)
    seen: dict[int, str] = {}

    def note(k: int, start: int, stop: int) -> None:
        seen[k] = threading.current_thread().name

    inner: list[str] = []
    with pool.start(note, ranges):
        pool.run(lambda k, start, stop: inner.append(threading.current_thread().name), ranges)
    assert sorted(seen) == list(range(len(ranges)))
    assert set(inner) == {threading.current_thread().name} and len(inner) == len(ranges)
    assert not pool._started
    one = parallel.Pool(1)
    order: list[str] = []
    with one.start(lambda k, start, stop: order.append("chunk"), ranges[:2]):
        order.append("beside")
    assert order == ["beside", "chunk", "chunk"]  # one thread: the chunks when the block ends

    def fail(k: int, start: int, stop: int) -> None:
        if k == 5:
            raise RuntimeError("chunk 5")

    with pytest.raises(RuntimeError, match="chunk 5"), pool.start(fail, ranges):
        pass
    assert not pool._started
    seen.clear()
    with pytest.raises(KeyError), pool.start(note, ranges):  # an error beside: the pass ends
        raise KeyError("beside")
    assert sorted(seen) == list(range(len(ranges))) and not pool._started
    seen.clear()
    pool.run(note, ranges)  # and the pool works on
    assert sorted(seen) == list(range(len(ranges)))
