"""Named random streams: common random numbers from one seed.

Every random decision in trustsim draws from its own stream, keyed by the decision's name and the
step (and, where one step holds several draws, a sub-key such as the programme index). A draw
therefore depends only on (seed, name, step, sub-key), never on how many numbers other decisions
used before it. Two runs that differ in one policy share every other draw (common random numbers,
Klein et al. 2024, arXiv:2409.02086), and a run gives the same numbers whatever process runs it.
"""

from __future__ import annotations

import zlib

import numba as nb
import numpy as np

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


def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name (the same in every Python process)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Hands out one generator per (decision, step, sub-key), all derived from one seed."""

    def __init__(self, root: np.random.SeedSequence):
        self.root = root

    def generator(self, name: str, step: int, *sub: int) -> np.random.Generator:
        """The generator for decision ``name`` at ``step``; ``sub`` tells draws in a step apart."""
        seq = np.random.SeedSequence(
            self.root.entropy,
            spawn_key=(*self.root.spawn_key, stream_key(name), int(step), *map(int, sub)),
        )
        return np.random.Generator(np.random.PCG64(seq))

    def uniform(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        """``size`` float32 draws in [0, 1); citizen ``i`` always gets element ``i``."""
        return self.generator(name, step, *sub).random(size, dtype=np.float32)

    def bits(self, name: str, step: int, size: int, *sub: int) -> np.ndarray:
        """``size`` random 32-bit words, to be turned into several uniforms with :func:`spread`."""
        return self.generator(name, step, *sub).integers(0, 2**32, size, dtype=np.uint32)

    def uniform_span(self, name: str, step: int, start: int, stop: int, *sub: int
                     ) -> np.ndarray:
        """Elements ``start:stop`` of :meth:`uniform` (any size), drawn alone: a chunk of
        citizens draws its own, in any thread, without the whole array (``start`` even)."""
        return self._from(name, step, start, sub).random(stop - start, dtype=np.float32)

    def bits_span(self, name: str, step: int, start: int, stop: int, *sub: int) -> np.ndarray:
        """Elements ``start:stop`` of :meth:`bits` (any size), drawn alone (``start`` even)."""
        return self._from(name, step, start, sub).integers(0, 2**32, stop - start,
                                                           dtype=np.uint32)

    def _from(self, name: str, step: int, start: int, sub: tuple[int, ...]
              ) -> np.random.Generator:
        """The generator of (name, step, sub) moved on past ``start`` 32-bit draws. A float32
        uniform and a full-range 32-bit integer each take one 32-bit half of the PCG64's 64-bit
        output, in order (tests/test_parallel.py checks it against the whole draw), so
        ``start / 2`` steps of the generator skip them."""
        if start % 2:
            raise ValueError(f"a span of draws starts at an even element, not {start}")
        rng = self.generator(name, step, *sub)
        rng.bit_generator.advance(start // 2)
        return rng


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
