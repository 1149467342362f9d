"""Both cores for one run: the kernels over fixed chunks of citizens on a small thread pool.

A kernel that works citizen by citizen is called once per chunk, on slices of the citizens'
arrays, from ``threads`` threads at once (the kernels are compiled ``nogil``, so the threads run
in parallel). The numbers never depend on the thread count:

* the chunks are fixed by the population alone (:func:`chunks`), never by the thread count;
* a chunk writes only its own citizens' cells, and reads others' only from arrays no kernel
  writes in that pass (the partners' rows copied before the trust update, the choices as they
  were at the start of the consent step);
* a sum over citizens is kept per chunk or per fixed block and added up afterwards in a fixed
  order: the trust update's float32 partial sums of 1,024 citizens (so its chunks start on a
  multiple of 1,024), integer counts per chunk, and the group outputs' sums per demographic
  cell, whose chunks end where a place (a run of one region and deprivation quintile, whose
  cells no other place has) ends; a float sum that must run over all citizens in order (the
  flows by segment, the consent constants' shares) is added chunk by chunk in turn
  (:class:`InOrder`) after each chunk's parallel work;
* random draws are the same elements of the same streams: a chunk draws its own span of a
  stream (sim.streams.Streams.uniform_span, bits_span);
* a pass may start on the other threads while the calling thread does work that touches none
  of its arrays (:meth:`Pool.start`: the week's partner search beside the sharing step), which
  changes when things run, never what they compute.

One thread (the default) calls each kernel once over all citizens, as a chunked call computes
every number by the same operations in the same order. Sweeps and runs spread over processes
keep one thread per process (sim.runner.single_threaded_workers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

#: Citizens per chunk (about): large enough that a call's overhead (some microseconds) is
#: small beside its work, small enough that two threads share the work evenly on a busy
#: machine. A multiple of 1,024, the trust update's span of partial sums.
CHUNK = 1 << 16
#: The trust update's float32 partial sums run over this many citizens (sim.trust.update).
SUM_SPAN = 1024


def chunks(n: int, cuts: Sequence[int] | np.ndarray | None = None, size: int = CHUNK,
           ) -> list[tuple[int, int]]:
    """Consecutive ranges ``(start, stop)`` covering ``0..n``, each ending at one of ``cuts``
    (or ``n``) and at least ``size`` long where the cuts allow; ``cuts`` None: every multiple
    of :data:`SUM_SPAN`. Depends on ``n``, ``cuts`` and ``size`` only."""
    if cuts is None:
        if size % SUM_SPAN == 0:  # every multiple of SUM_SPAN a cut: chunks of exactly ``size``
            return [(start, min(start + size, n)) for start in range(0, n, size)] or [(0, n)]
        cuts = range(SUM_SPAN, n, SUM_SPAN)
    out, start = [], 0
    for cut in cuts:
        cut = int(cut)
        if cut - start >= size and cut < n:
            out.append((start, cut))
            start = cut
    if start < n or not out:
        out.append((start, n))
    return out


class Pool:
    """Runs a kernel over chunks on ``threads`` threads (the calling one included)."""

    def __init__(self, threads: int = 1, chunk: int | None = None):
        chunk = CHUNK if chunk is None else chunk
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if chunk < 1 or chunk % SUM_SPAN:
            raise ValueError(f"chunk must be a positive multiple of {SUM_SPAN}, got {chunk}")
        self.threads = int(threads)
        self.chunk = int(chunk)
        self._executor: ThreadPoolExecutor | None = None
        self._started = False  # a pass of start() is under way

    def __getstate__(self) -> dict[str, object]:  # a model can be pickled or deep-copied
        return {**self.__dict__, "_executor": None, "_started": False}

    def ranges(self, n: int, cuts: Sequence[int] | np.ndarray | None = None,
               ) -> list[tuple[int, int]]:
        """The chunks to use for ``n`` citizens: all at once on one thread, else
        :func:`chunks` (the numbers are the same either way)."""
        return [(0, n)] if self.threads == 1 else chunks(n, cuts, self.chunk)

    def run(self, kernel: Callable[[int, int, int], object],
            ranges: Sequence[tuple[int, int]]) -> None:
        """Call ``kernel(k, start, stop)`` for every chunk k; the threads take the next chunk
        as they finish one, so a busy core slows the run but changes no number. While a pass
        of :meth:`start` is under way, this thread calls every chunk itself (the other threads
        are busy with that pass)."""
        if self.threads == 1 or len(ranges) <= 1 or self._started:
            for k, (start, stop) in enumerate(ranges):
                kernel(k, start, stop)
            return
        self.start(kernel, ranges).join()

    def start(self, kernel: Callable[[int, int, int], object],
              ranges: Sequence[tuple[int, int]]) -> Started:
        """Set the pool's other threads to work on ``kernel``'s chunks and return at once;
        :meth:`Started.join` then takes this thread's share of what is left and waits for the
        rest. Meanwhile this thread may do other work that writes nothing the kernel reads and
        reads nothing it writes: the two overlap, and neither's numbers change. On one thread
        every chunk waits for ``join``, so the work runs in the order it is written."""
        started = Started(self, kernel, ranges)
        if self.threads == 1 or len(ranges) <= 1 or self._started:
            return started
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads - 1,
                                                thread_name_prefix="trustsim")
        self._started = True
        started.futures = [self._executor.submit(started.work) for _ in range(self.threads - 1)]
        return started


class Started:
    """A pass of :meth:`Pool.start`: its chunks, taken in order by whichever thread is free."""

    def __init__(self, pool: Pool, kernel: Callable[[int, int, int], object],
                 ranges: Sequence[tuple[int, int]]):
        self._pool, self._kernel = pool, kernel
        self._todo = iter(enumerate(ranges))
        self._lock = threading.Lock()
        self.futures: list[Future[None]] = []  # the other threads' share, if they have one

    def work(self) -> None:
        """Call the kernel on the next chunk not yet taken until none is left."""
        while True:
            with self._lock:
                item = next(self._todo, None)
            if item is None:
                return
            k, (start, stop) = item
            self._kernel(k, start, stop)

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def join(self) -> None:
        """Take this thread's share of the chunks left, then wait for the other threads'."""
        try:
            self.work()
        finally:
            try:
                for future in self.futures:
                    future.result()
            finally:
                if self.futures:
                    self._pool._started = False


class InOrder:
    """Turns for the chunks of a pool's pass (sim.parallel), in chunk order: chunk k's turn
    starts once chunk k-1's has ended. A float sum over all citizens in citizen order then runs
    turn by turn, each chunk adding its own citizens to the running total after its other
    (parallel) work, so the sum is the same as in one pass and most of its time is hidden
    behind the other chunks' work. The pool hands chunks out in order, so the chunk a turn
    waits for is always running or done."""

    def __init__(self, n_chunks: int):
        self._done = [threading.Event() for _ in range(n_chunks)]
        self._failed = False

    @contextmanager
    def turn(self, k: int) -> Iterator[None]:
        if k > 0:
            self._done[k - 1].wait()
        try:
            if self._failed:
                raise RuntimeError(f"chunk {k}: an earlier chunk failed")
            yield
        except BaseException:
            self._failed = True
            raise
        finally:
            self._done[k].set()


def copy_into(pool: Pool, src: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[:] = src`` row range by row range on ``pool``: a week's copy of a large array (the
    choices a step reads others' from) is otherwise one serial pass while the other thread
    waits."""
    def chunk(k: int, start: int, stop: int) -> None:
        out[start:stop] = src[start:stop]

    pool.run(chunk, pool.ranges(len(src)))
    return out


#: The pool of a run on one thread (the default everywhere).
SERIAL = Pool(1)
