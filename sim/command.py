"""What trustsim's command lines share: option types and options, progress bars, the memory
check, and how a command ends (exit statuses, one-paragraph errors, interruption).

Both ``trustsim`` (:mod:`sim.cli`) and the sweep scripts of ``experiments/``
(:func:`sim.sweeps.script`) use it, so neither needs the other. Bad input ends with a message and
exit status 2, never a traceback; Ctrl-C and SIGTERM unwind (temporary results are removed) and
end with 130 and 143. A command whose optional dependencies are not installed says which extra
installs them (exit status 2); one whose reader closes the pipe (``trustsim schema | head -1``)
ends quietly with 141.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import stop
from sim.files import OutputError
from sim.stop import Terminated

if TYPE_CHECKING:
    from sim import scenario as sc

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader went away

#: the optional dependencies a command may need (top-level module), and the extra installing them
EXTRAS = {"solara": "app", "ipyvuetify": "app", "dask": "dask", "distributed": "dask"}


class UsageError(Exception):
    """Bad command-line input: reported as one paragraph on stderr, exit status 2."""


class MissingExtraError(UsageError):
    """An optional dependency is not installed: say which extra installs it."""

    def __init__(self, extra: str, module: str | None, what: str):
        super().__init__(f"{what} needs {module or 'a package'}, an optional dependency that "
                         f"is not installed: pip install 'trustsim[{extra}]'")


def require(module: str, extra: str, what: str) -> None:
    """Import ``module`` now, so a missing optional dependency stops a command before it starts
    (with the extra to install) instead of failing halfway."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise MissingExtraError(extra, err.name, what) from None


def closed_pipe() -> int:
    """Standard output's reader has gone (``trustsim schema | head -1``): send what is left to
    /dev/null, so the interpreter's last flush does not fail too, and end quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM's handler: unwind now, or, while model steps run, at the next step's end."""
    stop.request()


def run(name: str, command: Callable[[argparse.Namespace], int], args: argparse.Namespace,
        ) -> int:
    """Run ``command(args)`` as the command ``name`` (e.g. "trustsim run"): bad input becomes
    a message and exit status 2, an interruption exit status 130 (Ctrl-C) or 143 (SIGTERM), a
    closed standard output 141."""
    stop.clear()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = command(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        return closed_pipe()
    except MissingExtraError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as err:
        extra = EXTRAS.get((err.name or "").partition(".")[0])
        if extra is None:
            raise
        missing = MissingExtraError(extra, err.name, "this command")
        print(f"{name}: error: {missing}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:
        from sim.scenario import ScenarioError  # already loaded if a scenario was read

        if not isinstance(err, UsageError | OutputError | ScenarioError):
            raise
        print(f"{name}: error:\n{err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated) as err:
        print(f"{name.split()[0]}: interrupted; no results were written", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop.clear()  # a request ends with its command


# ------------------------------------------------------------------------------ options
def integer(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive, non_negative = integer(1), integer(0)


def sweep_options(parser: argparse.ArgumentParser, spec: bool = True,
                  what: str = "sweep spec (YAML)") -> None:
    """The options of ``trustsim sweep`` (and of ``trustsim frontier`` and ``calibrate``, whose
    spec is ``what``);
    an experiment script, whose spec is fixed, has no ``spec`` argument."""
    if spec:
        parser.add_argument("spec", type=Path, help=what)
    parser.add_argument("--out", type=Path, required=True,
                        help="results folder (created or resumed)")
    parser.add_argument("--workers", type=positive, default=1,
                        help="parallel workers; results are identical whatever the number")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://host:8786; 'local' starts a "
                             "LocalCluster of --workers processes on 127.0.0.1")
    parser.add_argument("--executor", choices=("auto", "serial", "processes", "dask"),
                        default="auto", help="auto: dask with --scheduler, else processes if "
                        "--workers > 1, else serial")
    parser.add_argument("--quick", action="store_true", help="use the spec's quick: settings")
    parser.add_argument("--force", action="store_true",
                        help="reuse a folder that holds another spec's sweep (or is not a sweep)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# ------------------------------------------------------------------------------ helpers
def progress(total: int, quiet: bool, desc: str, unit: str = "run") -> Any:
    """A progress bar of runs (or weeks, ``unit``) on stderr, drawn only on a terminal and never
    with ``quiet``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=quiet or not sys.stderr.isatty(), leave=False)


def spec_command_checks(args: Any, what: str) -> None:
    """Before a sweep, frontier or calibration loads its spec: Dask installed if it will run
    on Dask (``what`` names the command's work in the message)."""
    from sim.sweeps import engine

    if engine.choose(args.workers, args.scheduler, args.executor) == "dask":
        require("dask.distributed", "dask", f"{what} on Dask")


def results_not_here(out: Path, error: type[Exception]) -> None:
    """Refuse the current folder as a results folder (it would be claimed, and forced over)."""
    if out.resolve() == Path.cwd().resolve():
        raise error(f"{out}: choose a results folder, not the current folder.")


def log_to_stderr(quiet: bool) -> Callable[[str], None] | None:
    """A stage-by-stage log on stderr, or none with ``quiet``."""
    return None if quiet else (lambda m: print(m, file=sys.stderr))


def sized_progress(bar: Any) -> Callable[[int, int], None]:
    """A progress callback ``(done, total)`` for a bar whose total is known only once the runs
    left to do are counted."""
    def update(n: int, total: int) -> None:
        bar.total = total
        bar.update(n)

    return update


def check_memory(scenarios: Sequence[sc.Scenario], citizens: int, parallel: int) -> None:
    """Refuse (as bad input) runs whose populations would not fit in this machine's memory."""
    from sim import scenario as sc

    need = max(sc.memory_estimate(s, citizens, parallel) for s in scenarios)
    have = sc.available_memory()
    if have is not None and need > 0.9 * have:
        raise UsageError(
            f"population: {citizens:,} citizens x {parallel} parallel run(s) need about "
            f"{need / 2**30:.1f} GiB, but this machine has {have / 2**30:.1f} GiB available; use "
            "fewer --citizens or --workers.")
