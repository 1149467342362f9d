"""Social influence on the citizen network: bounded confidence (Deffuant-Weisbuch).

Each week every citizen talks with one network neighbour picked at random. If their opinions
differ by less than the confidence bound ``d``, the citizen moves a share ``mu`` of the way toward
the neighbour; otherwise not at all (Deffuant, Neau, Amblard & Weisbuch 2000). All citizens move
at once from last week's opinions (synchronous update). The rule runs alone on any opinion array
and CSR network (:func:`deffuant`), which is how it is checked against the known results: from a
uniform start, consensus iff ``d >= 1/2``; about ``floor(1 / (2d))`` clusters below that.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@nb.njit(cache=True, inline="always")
def pick_partner(indptr, indices, i, u):
    """Citizen i's partner for uniform draw ``u`` in [0, 1): a random neighbour, or -1."""
    start, end = indptr[i], indptr[i + 1]
    if end == start:
        return -1
    k = start + int(u * (end - start))
    return indices[min(k, end - 1)]


@nb.njit(cache=True, inline="always")
def pull(x, y, bound, rate):
    """Change in opinion ``x`` from meeting ``y``: ``rate * (y - x)`` if ``|y - x| < bound``."""
    gap = y - x
    return rate * gap if abs(gap) < bound else gap * 0  # keeps the float type of the inputs


@nb.njit(cache=True, nogil=True)
def partners(indptr, indices, draw, out):
    """Every citizen's partner for this step (``draw`` holds one uniform per citizen). For a
    slice of citizens from ``start``, pass ``indptr[start:stop + 1]`` and the whole
    ``indices``."""
    for i in range(out.shape[0]):
        out[i] = pick_partner(indptr, indices, i, draw[i])


@nb.njit(cache=True, nogil=True)
def gather(opinions, partner, out, first=0):
    """Copy each citizen's partner's row of ``opinions`` into ``out`` (own row if no partner).
    ``partner`` and ``out`` may be the slice of citizens from ``first`` on; ``opinions`` is all
    of them.

    A pass of its own: a simple loop keeps many cache misses in flight, which the long
    update loop cannot (measured: half the cost of gathering inside the update). Rows of four
    contiguous values (the model's trust rows as 64-bit words, sim.trust.step) are copied as
    one vector (:func:`_copy_row4`), and the row wanted ``GATHER_AHEAD`` citizens later is
    prefetched.
    """
    n, k = out.shape
    rows4 = (k == 4 and opinions.strides[1] == opinions.itemsize
             and out.strides[1] == out.itemsize)
    for i in range(n):
        j = partner[i] if partner[i] >= 0 else first + i
        if rows4:
            if i + GATHER_AHEAD < n:
                later = partner[i + GATHER_AHEAD]
                _prefetch_row(opinions, later if later >= 0 else first + i + GATHER_AHEAD)
            _copy_row4(out, i, opinions, j)
        else:
            for c in range(k):
                out[i, c] = opinions[j, c]


#: How many citizens ahead :func:`gather` prefetches a partner's row.
GATHER_AHEAD = 64


@intrinsic
def _copy_row4(typingctx, dst, i, src, j):
    """``dst[i, :4] = src[j, :4]`` for rows of four contiguous numbers, as one vector load and
    store of their bits (the same bytes). No checks of ranges or layout."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and dst.dtype == src.dtype and isinstance(dst.dtype, types.Number)):
        return None

    def codegen(context, builder, signature, args):
        dst_type, _, src_type, _ = signature.args
        zero = ir.Constant(ir.IntType(64), 0)
        to = cgutils.get_item_pointer(context, builder, dst_type,
                                      context.make_array(dst_type)(context, builder, args[0]),
                                      [args[1], zero], wraparound=False)
        at = cgutils.get_item_pointer(context, builder, src_type,
                                      context.make_array(src_type)(context, builder, args[2]),
                                      [args[3], zero], wraparound=False)
        width = dst_type.dtype.bitwidth
        words = ir.VectorType(ir.IntType(width), 4).as_pointer()
        row = builder.load(builder.bitcast(at, words), align=width // 8)
        builder.store(row, builder.bitcast(to, words), align=width // 8)
        return context.get_dummy_value()

    return types.void(dst, types.intp, src, types.intp), codegen


@intrinsic
def _prefetch_row(typingctx, a, i):
    """A hint to fetch row ``i`` of ``a`` into the caches (no effect on any value)."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        zero = ir.Constant(ir.IntType(64), 0)
        at = cgutils.get_item_pointer(context, builder, array_type,
                                      context.make_array(array_type)(context, builder, args[0]),
                                      [args[1]] + [zero] * (array_type.ndim - 1),
                                      wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data
        builder.call(prefetch, [builder.bitcast(at, byte_ptr), ir.Constant(i32, 0),
                                ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(a, types.intp), codegen


@nb.njit(cache=True)
def bounded_confidence(opinions, neighbour, bound, rate, out):
    """One synchronous Deffuant step on (n, k) opinions given each one's partner's opinions."""
    n, k = opinions.shape
    for i in range(n):
        for c in range(k):
            x = opinions[i, c]
            out[i, c] = x + pull(x, neighbour[i, c], bound, rate)


def deffuant(
    opinions: np.ndarray, network: sp.csr_array, bound: float, rate: float, steps: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Run the rule alone for ``steps`` synchronous steps; returns the final opinions."""
    x = np.array(opinions, dtype=np.float64).reshape(len(opinions), -1)
    out, neighbour = np.empty_like(x), np.empty_like(x)
    partner = np.empty(len(x), dtype=np.int64)
    indptr, indices = network.indptr, network.indices
    for _ in range(steps):
        partners(indptr, indices, rng.random(len(x)), partner)
        gather(x, partner, neighbour)
        bounded_confidence(x, neighbour, bound, rate, out)
        x, out = out, x
    return x.reshape(np.shape(opinions))


def clusters(opinions: np.ndarray, gap: float = 0.01) -> np.ndarray:
    """Sizes of opinion clusters (runs of sorted opinions closer than ``gap``), largest first."""
    x = np.sort(np.asarray(opinions).ravel())
    breaks = np.flatnonzero(np.diff(x) > gap)
    sizes = np.diff(np.concatenate(([0], breaks + 1, [len(x)])))
    return np.sort(sizes)[::-1]
