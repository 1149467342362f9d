"""Named random streams: common random numbers from one seed.

Every random decision in trustsim draws from its own stream, keyed by the decision's name and the
step (and, where one step holds several draws, a sub-key such as the programme index). A draw
therefore depends only on (seed, name, step, sub-key), never on how many numbers other decisions
used before it. Two runs that differ in one policy share every other draw (common random numbers,
Klein et al. 2024, arXiv:2409.02086), and a run gives the same numbers whatever process runs it.

A stream's generator is numpy's PCG64 seeded by ``SeedSequence(entropy, spawn_key=(*root
spawn key, name key, step, *sub))``. The draws of a step (:meth:`Streams.uniform`,
:meth:`Streams.random`, the spans) seed it from the same words without building the
``SeedSequence`` (:func:`seed_state`), which costs a few microseconds a generator instead of
some twenty: the same state, so the same numbers. Whole arrays of uniforms and 32-bit
words, and a chunk's span of them (the generator jumped ahead as numpy's ``advance`` jumps it),
are drawn by a compiled PCG64 (:func:`_pcg64_bits`, numpy's generator step and output function
in 128-bit integer arithmetic), about twice as fast as numpy's per-element calls and the same
numbers; a probe against numpy at set-up falls back to numpy if they ever differ.
"""

from __future__ import annotations

import functools
import zlib

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

try:  # how SeedSequence turns an int (or ints) into 32-bit words
    from numpy.random.bit_generator import _coerce_to_uint32_array
except ImportError:  # pragma: no cover - then every generator is built by SeedSequence
    _coerce_to_uint32_array = None

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(rng: SeedLike) -> np.random.SeedSequence:
    """Turn Mesa's ``rng`` argument into the run's root ``SeedSequence``.

    ``None`` takes fresh entropy from the operating system (kept in ``.entropy`` so the run can be
    repeated); a ``Generator`` is reduced to one integer drawn from it.
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(2**63)))
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.SeedSequence(None if rng is None else int(rng))
    raise TypeError(f"rng must be an int, a numpy SeedSequence or Generator, or None; got {rng!r}")


@functools.cache
def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name (the same in every Python process)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Hands out one generator per (decision, step, sub-key), all derived from one seed."""

    def __init__(self, root: np.random.SeedSequence):
        self.root = root
        self._prefix = _entropy_prefix(root)
        self._compiled = self._prefix is not None and _compiled_draws_agree(self)

    def generator(self, name: str, step: int, *sub: int) -> np.random.Generator:
        """The generator for decision ``name`` at ``step``; ``sub`` tells draws in a step apart."""
        seq = np.random.SeedSequence(
            self.root.entropy,
            spawn_key=(*self.root.spawn_key, stream_key(name), int(step), *map(int, sub)),
        )
        return np.random.Generator(np.random.PCG64(seq))

    def _seed(self, name: str, step: int, sub: tuple[int, ...]) -> np.ndarray | None:
        """The PCG64 seed words of :meth:`generator`'s generator (:func:`seed_state`), or None
        where only its ``SeedSequence`` can make them."""
        if self._prefix is None:
            return None
        key = (stream_key(name), int(step), *map(int, sub))
        if min(key) < 0 or max(key) > _WORD:
            return None
        words = np.empty(len(self._prefix) + len(key), np.uint32)
        words[:len(self._prefix)] = self._prefix
        words[len(self._prefix):] = key
        state = np.empty(2 * _PCG64_SEEDS, np.uint64)
        seed_state(words, state)
        return state

    def _draws(self, name: str, step: int, sub: tuple[int, ...]) -> np.random.Generator:
        """:meth:`generator`'s generator, for drawing from at once (its ``seed_seq`` is not a
        ``SeedSequence``): seeded by :func:`seed_state` when it can be."""
        state = self._seed(name, step, sub)
        if state is None:
            return self.generator(name, step, *sub)
        return np.random.Generator(np.random.PCG64(_State(state)))

    def _fill(self, name: str, step: int, sub: tuple[int, ...], out: np.ndarray, skip: int = 0
              ) -> np.ndarray | None:
        """``out`` filled with the stream's float32 or float64 uniforms or 32-bit words after
        its first ``skip`` 64-bit outputs, by the compiled PCG64 (:data:`_FILLS`); None where
        numpy must draw them."""
        state = self._seed(name, step, sub) if self._compiled else None
        if state is None:
            return None
        _FILLS[out.dtype.char](state, skip, out)
        return out

    def uniform(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        """``size`` float32 draws in [0, 1); citizen ``i`` always gets element ``i``."""
        out = self._fill(name, step, sub, np.empty(size, np.float32))
        if out is not None:
            return out
        return self._draws(name, step, sub).random(size, dtype=np.float32)

    def random(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        """``size`` float64 draws in [0, 1) (``generator(name, step, *sub).random(size)``)."""
        out = self._fill(name, step, sub, np.empty(size))
        if out is not None:
            return out
        return self._draws(name, step, sub).random(size)

    def bits(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        """``size`` random 32-bit words, to be turned into several uniforms with :func:`spread`."""
        out = self._fill(name, step, sub, np.empty(size, np.uint32))
        if out is not None:
            return out
        return self._draws(name, step, sub).integers(0, 2**32, size, dtype=np.uint32)

    def uniform_span(self, name: str, step: int, start: int, stop: int, *sub: int
                     ) -> np.ndarray:
        """Elements ``start:stop`` of :meth:`uniform` (any size), drawn alone: a chunk of
        citizens draws its own, in any thread, without the whole array (``start`` even)."""
        if start == 0:
            return self.uniform(name, step, stop, *sub)
        out = self._fill(name, step, sub, np.empty(stop - start, np.float32), _skip(start))
        if out is not None:
            return out
        return self._from(name, step, start, sub).random(stop - start, dtype=np.float32)

    def bits_span(self, name: str, step: int, start: int, stop: int, *sub: int) -> np.ndarray:
        """Elements ``start:stop`` of :meth:`bits` (any size), drawn alone (``start`` even)."""
        if start == 0:
            return self.bits(name, step, stop, *sub)
        out = self._fill(name, step, sub, np.empty(stop - start, np.uint32), _skip(start))
        if out is not None:
            return out
        return self._from(name, step, start, sub).integers(0, 2**32, stop - start,
                                                           dtype=np.uint32)

    def _from(self, name: str, step: int, start: int, sub: tuple[int, ...]
              ) -> np.random.Generator:
        """The generator of (name, step, sub) moved on past ``start`` 32-bit draws
        (:func:`_skip`)."""
        rng = self._draws(name, step, sub)
        rng.bit_generator.advance(_skip(start))
        return rng


def _skip(start: int) -> int:
    """The PCG64 steps before 32-bit draw ``start``: a float32 uniform and a full-range 32-bit
    integer each take one 32-bit half of the generator's 64-bit output, in order
    (tests/test_parallel.py checks it against the whole draw), so ``start / 2``."""
    if start % 2:
        raise ValueError(f"a span of draws starts at an even element, not {start}")
    return start // 2


# ------------------------------------------------------------------ seeding without SeedSequence
_WORD = 0xFFFFFFFF
_POOL = 4  # SeedSequence's default pool size, in 32-bit words
_PCG64_SEEDS = 2  # PCG64 takes 2 x 128 bits from its seed sequence: 4 64-bit words
_U = np.uint64
_INIT_A, _MULT_A, _INIT_B, _MULT_B = _U(0x43B0D7E5), _U(0x931E8875), _U(0x8B51F9DD), _U(0x58F38DED)
_MIX_L, _MIX_R, _MASK, _XSHIFT = _U(0xCA01F9DD), _U(0x4973F715), _U(_WORD), _U(16)


def _entropy_prefix(root: np.random.SeedSequence) -> np.ndarray | None:
    """The 32-bit words that every stream's ``SeedSequence`` mixes before its own key: the
    root's entropy (padded to the pool, as a spawn key follows) and the root's spawn key; None
    if they cannot be had, or do not give what ``SeedSequence`` gives (every generator is then
    built by ``SeedSequence``)."""
    if _coerce_to_uint32_array is None or root.pool_size != _POOL:
        return None
    try:
        run = _coerce_to_uint32_array(root.entropy)
        spawn = (_coerce_to_uint32_array(root.spawn_key) if len(root.spawn_key)
                 else np.zeros(0, np.uint32))
    except (TypeError, ValueError):
        return None
    if len(run) < _POOL:
        run = np.concatenate((run, np.zeros(_POOL - len(run), np.uint32)))
    prefix = np.concatenate((run, spawn)).astype(np.uint32)
    probe = (stream_key("probe"), 0, 1)
    state = np.empty(2 * _PCG64_SEEDS, np.uint64)
    seed_state(np.concatenate((prefix, np.array(probe, np.uint32))), state)
    seq = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *probe))
    if not np.array_equal(state, seq.generate_state(2 * _PCG64_SEEDS, np.uint64)):
        return None
    return prefix


class _State(np.random.bit_generator.ISeedSequence):
    """Seed words already made (:func:`seed_state`), handed to ``PCG64`` as a seed sequence."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words != len(self.words) or np.dtype(dtype) != np.uint64:
            raise ValueError("these seed words are for PCG64 only")
        return self.words


# ------------------------------------------------------------------ PCG64, compiled
#: PCG64's 128-bit multiplier (numpy's PCG_DEFAULT_MULTIPLIER_128), high and low 64 bits
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MULT_HI, _MULT_LO = _U(_PCG_MULT >> 64), _U(_PCG_MULT & 0xFFFFFFFFFFFFFFFF)


@intrinsic
def _mul_add_128(typingctx, a_hi, a_lo, b_hi, b_lo, c_hi, c_lo):
    """``(a * b + c) mod 2**128`` of 128-bit integers given as (high, low) 64-bit halves,
    in LLVM's 128-bit integer arithmetic; returns (high, low)."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)

        def join(hi, lo):
            return builder.or_(builder.shl(builder.zext(hi, i128), ir.Constant(i128, 64)),
                               builder.zext(lo, i128))

        r = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])),
                        join(args[4], args[5]))
        hi = builder.trunc(builder.lshr(r, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type, [hi, builder.trunc(r, i64)])

    return sig, codegen


@nb.njit(cache=True, inline="always")
def _pcg64_start(seed):
    """PCG64 seeded as numpy seeds it from ``seed`` (``generate_state(4, uint64)`` of its
    seed sequence): increment ``2 * initseq + 1``; from state 0, a step, the initial state
    added, a step. Returns (state high, state low, increment high, increment low)."""
    one, zero = _U(1), _U(0)
    inc_hi = (seed[2] << one) | (seed[3] >> _U(63))
    inc_lo = (seed[3] << one) | one
    hi, lo = _mul_add_128(inc_hi, inc_lo, zero, one, seed[0], seed[1])  # inc + initstate
    hi, lo = _mul_add_128(hi, lo, _MULT_HI, _MULT_LO, inc_hi, inc_lo)
    return hi, lo, inc_hi, inc_lo


@nb.njit(cache=True, inline="always")
def _pcg64_next(hi, lo, inc_hi, inc_lo):
    """One PCG64 step; returns the new state and its 64-bit output (XSL-RR)."""
    hi, lo = _mul_add_128(hi, lo, _MULT_HI, _MULT_LO, inc_hi, inc_lo)
    x = hi ^ lo
    rot = hi >> _U(58)
    return hi, lo, (x >> rot) | (x << ((_U(64) - rot) & _U(63)))


@nb.njit(cache=True, inline="always")
def _pcg64_advance(hi, lo, inc_hi, inc_lo, delta):
    """The state ``delta`` steps on, by the LCG's jump ahead (numpy's ``advance``: log2(delta)
    squarings of the step), in 128-bit arithmetic."""
    zero, one = _U(0), _U(1)
    mult_hi, mult_lo, plus_hi, plus_lo = _MULT_HI, _MULT_LO, inc_hi, inc_lo  # one step
    acc_mult_hi, acc_mult_lo, acc_plus_hi, acc_plus_lo = zero, one, zero, zero  # no step
    while delta > 0:
        if delta & 1:
            acc_mult_hi, acc_mult_lo = _mul_add_128(acc_mult_hi, acc_mult_lo, mult_hi, mult_lo,
                                                    zero, zero)
            acc_plus_hi, acc_plus_lo = _mul_add_128(acc_plus_hi, acc_plus_lo, mult_hi, mult_lo,
                                                    plus_hi, plus_lo)
        plus_hi, plus_lo = _mul_add_128(mult_hi, mult_lo, plus_hi, plus_lo, plus_hi, plus_lo)
        mult_hi, mult_lo = _mul_add_128(mult_hi, mult_lo, mult_hi, mult_lo, zero, zero)
        delta >>= 1
    return _mul_add_128(acc_mult_hi, acc_mult_lo, hi, lo, acc_plus_hi, acc_plus_lo)


@nb.njit(cache=True, inline="always")
def _pcg64_from(seed, skip):
    """:func:`_pcg64_start`, then ``skip`` steps on (the outputs a span's draws come after)."""
    hi, lo, inc_hi, inc_lo = _pcg64_start(seed)
    if skip > 0:
        hi, lo = _pcg64_advance(hi, lo, inc_hi, inc_lo, _U(skip))
    return hi, lo, inc_hi, inc_lo


@nb.njit(cache=True, nogil=True)
def _pcg64_bits(seed, skip, out):
    """``out`` (uint32) filled as numpy's ``Generator(PCG64(seq)).integers(0, 2**32, n,
    dtype=uint32)`` fills it (``seed`` = ``seq.generate_state(4, uint64)``), after ``skip``
    64-bit outputs: each 64-bit output gives two 32-bit words, low half first."""
    hi, lo, inc_hi, inc_lo = _pcg64_from(seed, skip)
    n = out.shape[0]
    for i in range(0, n, 2):
        hi, lo, value = _pcg64_next(hi, lo, inc_hi, inc_lo)
        out[i] = np.uint32(value & _MASK)
        if i + 1 < n:
            out[i + 1] = np.uint32(value >> _U(32))


@nb.njit(cache=True, nogil=True)
def _pcg64_uniform(seed, skip, out):
    """``out`` (float32) filled as numpy's ``random(n, dtype=float32)`` fills it, after
    ``skip`` 64-bit outputs: each 32-bit word of :func:`_pcg64_bits`'s order gives its top 24
    bits times ``2**-24``."""
    hi, lo, inc_hi, inc_lo = _pcg64_from(seed, skip)
    n = out.shape[0]
    scale = np.float32(1.0 / 16777216.0)
    for i in range(0, n, 2):
        hi, lo, value = _pcg64_next(hi, lo, inc_hi, inc_lo)
        out[i] = np.float32(np.uint32(value & _MASK) >> np.uint32(8)) * scale
        if i + 1 < n:
            out[i + 1] = np.float32(np.uint32(value >> _U(32)) >> np.uint32(8)) * scale


@nb.njit(cache=True, nogil=True)
def _pcg64_random(seed, skip, out):
    """``out`` (float64) filled as numpy's ``random(n)`` fills it, after ``skip`` outputs:
    each 64-bit output's top 53 bits times ``2**-53``."""
    hi, lo, inc_hi, inc_lo = _pcg64_from(seed, skip)
    for i in range(out.shape[0]):
        hi, lo, value = _pcg64_next(hi, lo, inc_hi, inc_lo)
        out[i] = np.float64(value >> _U(11)) * (1.0 / 9007199254740992.0)


#: The compiled draws by the dtype they fill (its character code)
_FILLS = {np.dtype(np.float32).char: _pcg64_uniform, np.dtype(np.float64).char: _pcg64_random,
          np.dtype(np.uint32).char: _pcg64_bits}


def _compiled_draws_agree(streams: Streams) -> bool:
    """Whether the compiled PCG64 draws what numpy draws, for a probe stream."""
    for dtype in (np.float32, np.float64, np.uint32):
        out = np.empty(5, dtype)
        _FILLS[out.dtype.char](streams._seed("probe", 0, ()), 0, out)
        rng = streams.generator("probe", 0)
        want = (rng.integers(0, 2**32, 5, dtype=np.uint32) if dtype is np.uint32
                else rng.random(5, dtype=dtype))
        if not np.array_equal(out, want):
            return False
    return True


@nb.njit(cache=True, inline="always")
def _hashmix(value, hash_const):
    """SeedSequence's ``hashmix`` on 32-bit values held in 64-bit words."""
    value = (value ^ hash_const) & _MASK
    hash_const = (hash_const * _MULT_A) & _MASK
    value = (value * hash_const) & _MASK
    return value ^ (value >> _XSHIFT), hash_const


@nb.njit(cache=True, inline="always")
def _mix(x, y):
    """SeedSequence's ``mix``."""
    result = (_MIX_L * x - _MIX_R * y) & _MASK
    return result ^ (result >> _XSHIFT)


@nb.njit(cache=True)
def seed_state(entropy, out):
    """``SeedSequence.generate_state(len(out), uint64)`` of the sequence whose assembled
    entropy (its entropy's 32-bit words, padded to the pool, then its spawn key's) is
    ``entropy``: the pool mixed as ``SeedSequence.mix_entropy`` mixes it, then hashed out into
    ``out`` (64-bit words, each from two 32-bit ones, low first). Integer arithmetic only;
    tests/test_parallel.py checks it against numpy's."""
    pool = np.zeros(_POOL, np.uint64)
    h = _INIT_A
    n = entropy.shape[0]
    for i in range(_POOL):
        pool[i], h = _hashmix(_U(entropy[i]) if i < n else _U(0), h)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                value, h = _hashmix(pool[src], h)
                pool[dst] = _mix(pool[dst], value)
    for src in range(_POOL, n):
        for dst in range(_POOL):
            value, h = _hashmix(_U(entropy[src]), h)
            pool[dst] = _mix(pool[dst], value)
    h = _INIT_B
    for i in range(2 * out.shape[0]):
        value = (pool[i % _POOL] ^ h) & _MASK
        h = (h * _MULT_B) & _MASK
        value = (value * h) & _MASK
        value ^= value >> _XSHIFT
        if i % 2 == 0:
            out[i // 2] = value
        else:
            out[i // 2] |= value << _U(32)


@nb.njit(cache=True, inline="always")
def spread(bits, k):
    """The ``k``-th of several independent uniforms in [0, 1) made from one 32-bit draw.

    The draw is mixed with ``k`` and passed through MurmurHash3's 32-bit finaliser, whose
    avalanche makes the results for different ``k`` behave as independent draws. One draw per
    citizen then serves every programme, and each programme's decision stays a function of
    (seed, decision, step, citizen) only. Pure integer arithmetic: the same in Python and numba.
    """
    h = (int(bits) ^ ((k + 1) * 0x9E3779B9)) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h * 2.3283064365386963e-10  # 2**-32


class Serials:
    """How many draws of one kind for one programme came before in this step.

    Used as a stream sub-key, so the k-th incident (or campaign week) of a programme in a step
    draws the same numbers in every run, whatever else happened that step.
    """

    def __init__(self) -> None:
        self._count: dict[tuple[str, int], int] = {}

    def clear(self) -> None:
        """Start a new step."""
        self._count.clear()

    def next(self, kind: str, p: int) -> int:
        key = (kind, int(p))
        self._count[key] = self._count.get(key, -1) + 1
        return self._count[key]
