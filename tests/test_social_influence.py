"""The bounded-confidence rule alone reproduces the Deffuant-Weisbuch results (domain.md 4)."""

import numpy as np
import pytest
import scipy.sparse as sp

from sim.network import build_network
from sim.social_influence import bounded_confidence, clusters, deffuant, gather, partners, pull

N = 1_000


def complete_graph(n: int) -> sp.csr_array:
    return sp.csr_array(np.ones((n, n), dtype=np.int8) - np.eye(n, dtype=np.int8))


def major_clusters(opinions: np.ndarray) -> np.ndarray:
    """Clusters holding more than 2% of agents (domain.md's 'major' clusters)."""
    sizes = clusters(opinions, gap=0.02)
    return sizes[sizes > 0.02 * len(opinions)]


def run_dw(d: float, seed: int, network=None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    net = complete_graph(N) if network is None else network
    return deffuant(rng.random(N), net, bound=d, rate=0.5, steps=3_000, rng=rng)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("d", [0.5, 0.55])
def test_consensus_from_uniform_start_when_bound_is_at_least_half(d, seed):
    x = run_dw(d, seed)
    assert len(clusters(x, gap=0.02)) == 1  # complete consensus
    assert np.ptp(x) < 0.02


@pytest.mark.parametrize(("d", "expected"), [(0.25, {2}), (0.2, {2}), (0.15, {3}),
                                             (0.1, {3, 4, 5})])
def test_clusters_multiply_as_bound_falls(d, expected):
    counts = [len(major_clusters(run_dw(d, seed))) for seed in range(3)]
    assert set(counts) <= expected, counts


def test_cluster_count_follows_one_over_two_d():
    means = [np.mean([len(major_clusters(run_dw(d, s))) for s in range(3)])
             for d in (0.4, 0.25, 0.15, 0.1)]
    assert means == sorted(means)  # more clusters as d falls
    assert means[0] == 1


def test_consensus_also_on_the_citizen_network():
    net = build_network(N, np.random.default_rng(0))
    for seed in range(3):
        assert len(major_clusters(run_dw(0.5, seed, net))) == 1


def test_mean_is_preserved_only_in_expectation_but_range_shrinks():
    rng = np.random.default_rng(1)
    x0 = rng.random(N)
    x = deffuant(x0, complete_graph(N), bound=1.0, rate=0.5, steps=50, rng=rng)
    assert np.ptp(x) < 0.05 * np.ptp(x0)
    assert abs(x.mean() - x0.mean()) < 0.05


def test_pull_only_within_the_bound():
    assert pull(0.2, 0.4, 0.3, 0.5) == pytest.approx(0.1)
    assert pull(0.2, 0.6, 0.3, 0.5) == 0.0
    assert pull(0.6, 0.4, 0.3, 0.5) == pytest.approx(-0.1)


def test_partners_are_neighbours_and_isolated_citizens_have_none():
    net = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.int8))
    x = np.array([[0.1], [0.2], [0.9]])
    partner, neighbour, new = np.empty(3, dtype=np.int64), np.empty_like(x), np.empty_like(x)
    partners(net.indptr, net.indices, np.array([0.0, 0.99, 0.5]), partner)
    assert partner.tolist() == [1, 0, -1]
    partners(net.indptr, net.indices, np.array([0.999999, 0.0, 0.5]), partner)
    assert partner.tolist() == [2, 0, -1]
    gather(x, partner, neighbour)
    assert neighbour[:, 0].tolist() == [0.9, 0.1, 0.9]  # no partner: its own row, no pull
    bounded_confidence(x, neighbour, 0.3, 0.5, new)
    np.testing.assert_allclose(new[:, 0], [0.1, 0.15, 0.9])  # 0 and 2 too far apart
