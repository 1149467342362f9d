"""The citizen network (sim.network) and the named random streams (sim.streams)."""

import numpy as np
import pytest

from sim.network import NetworkParams, build_network, household_sizes
from sim.streams import Serials, Streams, seed_sequence, spread


def test_network_is_symmetric_without_self_loops_and_mostly_local():
    shape = NetworkParams()
    net = build_network(5_000, np.random.default_rng(1), shape)
    assert (net != net.T).nnz == 0
    assert net.diagonal().sum() == 0
    rows = np.repeat(np.arange(5_000), np.diff(net.indptr))
    local = np.abs(net.indices - rows) <= shape.local_ties + 4
    assert 0.6 < local.mean() < 0.95  # households and neighbours, plus long-range ties
    assert 5 < net.nnz / 5_000 < 12  # mean degree


def test_more_ties_give_a_denser_network():
    rng = np.random.default_rng
    sparse = build_network(2_000, rng(1), NetworkParams(local_ties=1, long_range_ties=0))
    dense = build_network(2_000, rng(1), NetworkParams(local_ties=5, long_range_ties=3))
    assert dense.nnz > sparse.nnz
    rows = np.repeat(np.arange(2_000), np.diff(sparse.indptr))
    assert (np.abs(sparse.indices - rows) <= 1 + 4).all()  # no long-range ties at all


def test_household_sizes_add_up():
    sizes = household_sizes(10_001, np.random.default_rng(2))
    assert sizes.sum() == 10_001 and sizes.min() >= 1 and sizes.max() <= 5
    for seed in range(2_000):  # small populations, where the first draw can fall short
        sizes = household_sizes(150, np.random.default_rng(seed))
        assert sizes.sum() == 150 and sizes.min() >= 1


def test_spread_gives_independent_uniforms_per_programme():
    bits = Streams(seed_sequence(1)).bits("choice", 1, 20_000)
    u = np.array([[spread.py_func(int(b), p) for p in range(3)] for b in bits])
    assert ((u >= 0) & (u < 1)).all()
    np.testing.assert_allclose(u.mean(axis=0), 0.5, atol=0.01)
    corr = np.corrcoef(u.T)
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < 0.03
    both = ((u[:, 0] < 0.1) & (u[:, 1] < 0.1)).mean()  # acting on two programmes in one week
    assert both == pytest.approx(0.01, abs=0.004)
    assert spread(int(bits[0]), 1) == spread.py_func(int(bits[0]), 1)  # compiled = Python


def test_streams_depend_only_on_seed_name_and_step():
    s = Streams(seed_sequence(3))
    a = s.uniform("partner", 5, 10)
    s.uniform("choice", 5, 10)  # other draws in between change nothing
    np.testing.assert_array_equal(a, Streams(seed_sequence(3)).uniform("partner", 5, 10))
    assert not np.array_equal(a, s.uniform("partner", 6, 10))
    assert not np.array_equal(a, s.uniform("choice", 5, 10))
    assert not np.array_equal(a, Streams(seed_sequence(4)).uniform("partner", 5, 10))
    with pytest.raises(TypeError):
        seed_sequence("seven")


def test_serials_count_per_kind_and_programme_within_a_step():
    s = Serials()
    assert [s.next("incident", 0), s.next("incident", 0), s.next("incident", 1),
            s.next("campaign", 0)] == [0, 1, 0, 0]
    s.clear()
    assert s.next("incident", 0) == 0


def test_homophily_places_like_beside_like_without_changing_the_shares():
    from sim import TrustModel
    from sim.network import assortativity

    found = {}
    for h in (0.0, 0.5, 0.9):
        m = TrustModel(20_000, rng=1, citizen_agents=False, network={"homophily": h})
        seg = m.citizens.segment.astype(np.int64)
        found[h] = assortativity(m.network, seg), np.bincount(seg, minlength=6) / 20_000
    assert abs(found[0.0][0]) < 0.02 < found[0.5][0] < found[0.9][0] - 0.2
    for h in (0.5, 0.9):
        np.testing.assert_allclose(found[h][1], found[0.0][1], atol=0.03)


def test_assortativity_is_one_for_like_ties_and_minus_for_unlike():
    import scipy.sparse as sp

    from sim.network import assortativity

    pairs = sp.csr_array(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]))
    assert assortativity(pairs, np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    assert assortativity(pairs, np.array([0, 1, 0, 1])) == pytest.approx(-1.0)


def test_households_and_local_ties_stay_inside_their_place():
    shape = NetworkParams(local_ties=3, long_range_ties=1)
    places = np.array([0, 700, 700, 1_500, 3_000])  # an empty run and one of 0 are allowed
    net = build_network(3_000, np.random.default_rng(5), shape, places)
    assert (net != net.T).nnz == 0 and net.diagonal().sum() == 0
    rows = np.repeat(np.arange(3_000), np.diff(net.indptr))
    place = np.searchsorted(places, np.arange(3_000), side="right")
    near = np.abs(net.indices - rows) <= shape.local_ties + 4  # household or local tie
    crossing = place[rows] != place[net.indices]
    assert not (near & crossing).any()  # no household or local tie crosses a place
    assert 0 < crossing.mean() < 0.2  # long-range ties may
    with pytest.raises(ValueError, match="places"):
        build_network(3_000, np.random.default_rng(5), shape, np.array([1_000, 2_000]))


def test_the_models_network_is_local_in_place():
    from sim import TrustModel

    m = TrustModel(20_000, rng=2, citizen_agents=False)
    net, region = m.network, m.citizens.region
    rows = np.repeat(np.arange(m.n_citizens), np.diff(net.indptr))
    local = np.abs(net.indices - rows) <= NetworkParams().local_ties + 4  # households, neighbours
    same = region[rows] == region[net.indices]
    assert same[local].mean() == 1.0  # every household and local tie within a region
    assert 0.85 < same.mean() < 1.0  # long-range ties cross regions


@pytest.mark.parametrize(("local", "rounds"), [(3, 1), (0, 0), (0, 2), (5, 3), (12, 2)])
def test_compact_ties_pick_the_partner_the_list_of_ties_picks(local: int, rounds: int) -> None:
    """sim.network.Ties (what the model keeps) finds the same partner for every draw as the
    CSR list built from it, over the whole population or chunk by chunk."""
    from sim.network import build_ties, pick_partners
    from sim.social_influence import partners

    n = 5_000
    places = np.array([7, 7, 1_000, 1_003, 2_500, n])
    ties = build_ties(n, np.random.default_rng(local * 10 + rounds),
                      NetworkParams(local_ties=local, long_range_ties=rounds), places)
    csr = ties.csr()
    u = np.random.default_rng(1).random(n, dtype=np.float32)
    u[:50] = np.float32(1) - np.float32(2**-24)  # the last tie of a row
    listed, compact = np.empty(n, np.int32), np.empty(n, np.int32)
    partners(csr.indptr, csr.indices, u, listed)
    for start in range(0, n, 777):
        stop = min(start + 777, n)
        rows = slice(start, stop)
        pick_partners(ties.back[rows], ties.ahead[rows], ties.left[rows], ties.right[rows],
                      ties.far[rows], ties.partner, ties.place_end, ties.local_ties, u[rows],
                      compact[rows], start)
    np.testing.assert_array_equal(compact, listed)
    assert ties.nbytes == n * (5 + 4 * rounds)
