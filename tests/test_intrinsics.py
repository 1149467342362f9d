"""The kernels' vector intrinsics (sim.intrinsics) against the scalar code they replace."""

import numba as nb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.intrinsics import (
    add_row8,
    add_scaled_row8,
    at_most_word,
    copy_row4,
    equal_word,
    nonzero_word,
    trailing_zeros,
)


@nb.njit
def _words(bits, codes, hashes, code, limit):
    """Each intrinsic's word at every start, beside the word of a scalar loop."""
    n = bits.shape[0] - 63
    out = np.empty((n, 6), np.uint64)
    for at in range(n):
        nz = eq = le = np.uint64(0)
        for k in range(64):
            nz |= np.uint64(np.uint32(bits[at + k] << np.uint32(1)) != 0) << np.uint64(k)
            eq |= np.uint64(codes[at + k] == code) << np.uint64(k)
            le |= np.uint64(hashes[at + k] <= limit) << np.uint64(k)
        out[at] = (nonzero_word(bits, at), nz, equal_word(codes, at, code), eq,
                   at_most_word(hashes, at, limit), le)
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(64, 300))
def test_bit_words_are_the_scalar_loops(seed, n):
    """Bit k of each word is the flag of value ``at + k``, for any start (unaligned too); a
    zero of either sign is not set by nonzero_word."""
    rng = np.random.default_rng(seed)
    values = np.where(rng.random(n) < 0.7, 0.0, rng.normal(size=n)).astype(np.float32)
    values[rng.random(n) < 0.2] = -0.0
    codes = rng.integers(-1, 3, n).astype(np.int8)
    hashes = rng.integers(0, 2**32, n, dtype=np.uint32)
    limit = np.uint32(rng.integers(0, 2**32))
    words = _words(values.view(np.uint32), codes, hashes, np.int8(1), limit)
    assert (words[:, 0] == words[:, 1]).all()
    assert (words[:, 2] == words[:, 3]).all()
    assert (words[:, 4] == words[:, 5]).all()


@nb.njit
def _lowest(words):
    out = np.empty(words.shape[0], np.int64)
    for i in range(words.shape[0]):
        out[i] = trailing_zeros(words[i])
    return out


def test_trailing_zeros_is_the_lowest_set_bit():
    words = np.array([1 << k for k in range(64)] + [2**64 - 1, 0b1011000, 3 << 62],
                     dtype=np.uint64)
    expected = [k for k in range(64)] + [0, 3, 62]
    assert _lowest(words).tolist() == expected


@nb.njit
def _rows(total, x, dst, src, out, route, values):
    for i in range(x.shape[0]):
        add_row8(total, i % total.shape[0], x, i)
        copy_row4(dst, i, src, x.shape[0] - 1 - i)
    for e in range(values.shape[0]):
        add_scaled_row8(out, np.uint64(8 * (e % 3)), route, e % route.shape[0], values[e],
                        e % 2 == 1)


@nb.njit
def _rows_scalar(total, x, dst, src, out, route, values):
    for i in range(x.shape[0]):
        for k in range(8):
            total[i % total.shape[0], k] += x[i, k]
        for k in range(4):
            dst[i, k] = src[x.shape[0] - 1 - i, k]
    for e in range(values.shape[0]):
        for k in range(8):
            term = values[e] * route[e % route.shape[0], k]
            at = 8 * (e % 3) + k
            out[at] = out[at] - term if e % 2 == 1 else out[at] + term


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_intrinsics_are_the_column_by_column_code(seed):
    """Every lane the same IEEE operation, in the same order, as one column at a time."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    src = rng.normal(size=(50, 4))
    route = rng.normal(size=(5, 8)).astype(np.float32)
    values = rng.normal(size=40).astype(np.float32)
    out0 = rng.normal(size=24).astype(np.float32)
    results = []
    for kernel in (_rows, _rows_scalar):
        total, dst, out = np.zeros((7, 8)), np.zeros((50, 4)), out0.copy()
        kernel(total, x, dst, src, out, route, values)
        results.append((total, dst, out))
    (t1, d1, o1), (t2, d2, o2) = results
    assert np.array_equal(t1, t2) and np.array_equal(d1, d2)
    assert np.array_equal(o1.view(np.uint32), o2.view(np.uint32))
