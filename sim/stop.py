"""Stopping a run on request (SIGTERM) between two model steps.

The command line's SIGTERM handler (:mod:`sim.command`) calls :func:`request`; while model steps
run (:func:`between_steps`) that only records the request, and the runner's :func:`stop_point`
between two steps unwinds with :class:`Terminated`, so the signal never lands inside compiled
code or halfway through a step. Outside model steps the request unwinds at once. A module of its
own, free of the command line, so that the runner (whose imports a sweep's run keys hash) does
not import the command line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(BaseException):  # like KeyboardInterrupt: not an error to catch broadly
    """SIGTERM: unwind like Ctrl-C, so temporary results are removed."""


class _State:
    requested = False
    stepping = 0


def request() -> None:
    """Ask to stop: unwind now, or, while model steps run, at the next :func:`stop_point`."""
    _State.requested = True
    if not _State.stepping:
        raise Terminated()


def clear() -> None:
    """Forget a request (a new command starts, or one has ended)."""
    _State.requested = False


@contextmanager
def between_steps() -> Iterator[None]:
    """While model steps run, a request to stop waits for :func:`stop_point`."""
    _State.stepping += 1
    try:
        yield
    finally:
        _State.stepping -= 1


def stop_point() -> None:
    """Unwind (raise :class:`Terminated`) if a stop has been requested."""
    if _State.requested:
        raise Terminated()
