"""How fast is TrustModel, on one core, and how much faster than the same model in plain Mesa?

What is measured (default world, no events, seed 1):

* TrustModel at 10k, 100k and 1M citizens for 120 weekly steps (``citizen_agents=False``: the
  per-citizen Mesa views take no part in a step). ``citizen_steps_per_s`` is
  citizens x steps / seconds of the steps alone, set-up excluded. For the 1M run also the
  end-to-end time of set-up plus steps (``run_1m_120_s``; import and warm-up excluded) and its
  peak resident memory (``peak_rss_mb``). Memory per citizen: the declared state
  (``state_bytes_per_citizen``, the arrays of ``sim.citizens.STATE``) and the estimate with
  buffers and the network that the memory check uses (``bytes_per_citizen``).
* The plain Mesa reference (experiments/mesa_reference.py): one ``mesa.Agent`` per citizen with
  its state in Python attributes, the same weekly step written agent by agent, with the numbers
  the array model derives. ``mesa_citizen_steps_per_s`` at 10k citizens over 30 steps, defined
  as for TrustModel; it includes the full garbage collections that Python runs every few steps
  over the agents' objects (about half a step each), as any run of such a model pays them. The
  figure from the median step, which leaves them out, is reported too
  (``mesa_citizen_steps_per_s_median_step``, ``speedup_vs_mesa_median_step``).
  ``speedup_vs_mesa`` = TrustModel's figure at the largest size run (1M by default) / the Mesa
  figure, per citizen-step.
* Where a step's time goes, at every size: after the timed steps the same model takes
  ``PHASE_STEPS`` more steps with a timer around each phase of the step order (docs/model.md
  section 3): events, sharing, breaches, trust (partner draws, partner choice, gathering the
  partners' rows, the update), control (the choices), the grievances and willingness pass,
  group outputs, recording (outputs and Mesa's DataCollector); ``other`` is what lies between
  them. Each is reported in ms per step and ns per citizen (``phases``).
* A vectorisation check (``kernels``): each compiled kernel's cost per cell of the arrays it
  walks (citizens x trust columns, or citizens x programmes), beside a plain clipped update of
  an array of the trust array's shape (:func:`plain_clipped_update`, strict IEEE like the
  model's kernels), timed in the same process. A kernel many times the plain update per cell
  does much more work per cell, or fails to vectorise.
* A check that the reference is the same computation: on common random numbers, in a world with
  frequent breaches, a deadline and every consent regime, the two models should agree to float
  rounding. Separately, the timed Mesa run (its own random draws) should end with mean trust
  within 0.01 of the array model's.

How: every run is a fresh child process (``--child``), so each peak RSS (``ru_maxrss``) is that
run's own. Each child first runs a 1,000-citizen model for a few steps to load numba's compiled
kernels from its on-disk cache (``warmup_s``; it includes compilation when the cache is cold:
``--cold`` measures that once with an empty cache). Thread pools are pinned to one thread, so the
figures are single-core. Runs go one after another, never in parallel.

Read it as: citizen-steps per second is throughput per citizen-week; at 1M citizens a 120-week run
costs ``1e6 * 120 / citizen_steps_per_s`` seconds of stepping. ``--json`` prints one JSON object on
the last stdout line; progress goes to stderr. ``--big`` adds 10M citizens x 52 steps, on one thread
and on two (``TrustModel(threads=2)``, sim.parallel: the same numbers), and reports two threads'
speed-up over one, in the weeks (``speedup_2_threads_10m``, from the citizen-steps per second) and
end to end with set-up (``speedup_2_threads_10m_end_to_end``). ``--uk`` runs the whole UK end to end
through the command line, ``trustsim run scenarios/baseline.yaml --citizens 67000000 --steps 52
--replicates 1 --threads 2`` into a temporary folder (set-up, steps, every results file and figure),
and reports its wall time, peak resident memory and the CPU (``uk``); ``--uk-citizens`` runs the
same at another size (to try 10M or 20M first).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _var in THREAD_VARS:  # before numpy or numba is imported, here and in every child
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs without installing the package
    sys.path.insert(0, str(ROOT))

SEED = 1
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_STEPS = 120
MESA_CITIZENS, MESA_STEPS = 10_000, 30
BIG_CITIZENS, BIG_STEPS, BIG_LIMIT_MB = 10_000_000, 52, 6 * 1024
UK_CITIZENS, UK_STEPS, UK_THREADS = 67_000_000, 52, 2
UK_LIMIT_S, UK_LIMIT_GB = 300.0, 16.0
CHECK_CITIZENS, CHECK_STEPS = 2_000, 8
QUICK = {"sizes": (10_000, 100_000), "steps": 20, "mesa_citizens": 2_000, "mesa_steps": 5}
PHASE_STEPS = 20  # further steps of each timed model, with a timer around each phase

#: What the phase timers wrap: (phase, module, attribute path, parent phase). A phase's own time
#: is its wrapped call's time less its children's. The model looks these names up at call time
#: (``sharing.step(...)``, ``self._record(...)``), so replacing the attribute times the call.
TIMED_CALLS: tuple[tuple[str, str, str, str | None], ...] = (
    ("events", "sim.model", "TrustModel._apply_events", None),
    ("sharing", "sim.sharing", "step", None),
    ("breaches", "sim.breaches", "step", None),
    ("trust: find", "sim.trust", "find_partners", None),
    ("trust: partners", "sim.trust", "pick_partners", "trust: find"),
    ("trust: gather", "sim.trust", "gather", "trust: find"),
    ("trust", "sim.trust", "move", None),
    ("trust: update", "sim.trust", "update", "trust"),
    ("control", "sim.control", "step", None),
    ("control: dynamic", "sim.control", "decide_dynamic", "control"),
    ("control: decide", "sim.control", "decide", "control"),
    ("grievances", "sim.control", "ControlPlan.attitudes", "control"),
    ("recording", "sim.model", "TrustModel._record", None),
    ("group outputs", "sim.model", "TrustModel._record_groups", "recording"),
)
#: The phases as reported, in step order; ``trust: draws`` is the trust phase's own time (its
#: partner draws, sums and buffers), ``other`` the step's time outside every timed call. On one
#: thread the phases run one after another; on several, the partner search runs beside the
#: sharing and breaches (sim.model), so their times overlap.
PHASES = ("events", "sharing", "breaches", "trust: draws", "trust: partners", "trust: gather",
          "trust: update", "control: choices", "control: dynamic", "control: decide",
          "grievances", "group outputs", "recording", "other")
#: Each kernel's cells: (kernel phase, what a cell is) for the vectorisation check.
KERNEL_CELLS = (
    ("sharing", "citizen x programme"), ("trust: partners", "citizen"),
    ("trust: gather", "citizen x trust column"), ("trust: update", "citizen x trust column"),
    ("control: decide", "citizen x programme"), ("grievances", "citizen x programme"),
    ("group outputs", "citizen x trust column"),
)


def log(message: str) -> None:
    """Progress to stderr, so stdout stays the table or the JSON line."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inside a child process
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _warm_up() -> float:
    """Load (or, with a cold cache, compile) every kernel a step uses; returns the seconds."""
    from sim import TrustModel

    start = time.perf_counter()
    model = TrustModel(1_000, rng=SEED, citizen_agents=False)
    for _ in range(3):
        model.step()
    model.breach(model.programmes[0].name)  # the breach path has a kernel of its own
    return time.perf_counter() - start


@contextlib.contextmanager
def phase_timers(totals: dict[str, float]) -> Iterator[None]:
    """Add each call's seconds in :data:`TIMED_CALLS` to ``totals`` (inclusive of children)
    while inside; the originals are back afterwards."""
    saved = []
    for phase, module, path, _ in TIMED_CALLS:
        owner: Any = importlib.import_module(module)
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part)
        original = owner.__dict__[name]
        saved.append((owner, name, original))
        setattr(owner, name, _timed(original, phase, totals))
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def _timed(fn: Callable[..., Any], phase: str, totals: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[phase] = totals.get(phase, 0.0) + time.perf_counter() - start
    return timed


def time_phases(model: Any, steps: int) -> dict[str, float]:
    """Seconds per step of each phase of :data:`PHASES` over ``steps`` further steps."""
    totals: dict[str, float] = {}
    collect = model.datacollector.collect
    model.datacollector.collect = _timed(collect, "collect", totals)
    try:
        with phase_timers(totals):
            start = time.perf_counter()
            for _ in range(steps):
                model.step()
            total = time.perf_counter() - start
    finally:
        del model.datacollector.collect
    own = {phase: totals.get(phase, 0.0) for phase, *_ in TIMED_CALLS}
    for phase, _, _, parent in TIMED_CALLS:
        if parent is not None:
            own[parent] -= own[phase]
    own["recording"] += totals.get("collect", 0.0)
    own["trust: draws"] = own.pop("trust") + own.pop("trust: find")
    own["control: choices"] = own.pop("control")
    own["other"] = total - sum(own.values())
    return {phase: own[phase] / steps for phase in PHASES}


def kernel_cells(model: Any) -> dict[str, int]:
    """How many cells each kernel of :data:`KERNEL_CELLS` walks per call in ``model``."""
    n, n_cols = model.citizens.trust.shape
    width = {"citizen": 1, "citizen x trust column": n_cols,
             "citizen x programme": len(model.programmes)}
    return {kernel: n * width[cell] for kernel, cell in KERNEL_CELLS}


def plain_clipped_update(n: int, n_cols: int, repeats: int = 15) -> float:
    """Seconds per cell of :func:`_plain_kernel` on (n, n_cols) float32 arrays (median)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    x = rng.random((n, n_cols), dtype=np.float32)
    y = rng.random((n, n_cols), dtype=np.float32)
    kernel = _plain_kernel()
    kernel(x, y, np.float32(0.1))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        kernel(x, y, np.float32(0.1))
        times.append(time.perf_counter() - start)
    return statistics.median(times) / (n * n_cols)


def _plain_kernel() -> Callable[..., None]:
    """The yardstick: ``x <- clip(x + r (y - x), 0, 1)`` cell by cell, compiled as the model's
    kernels are (no fastmath), which vectorises; any kernel does at least this much per cell."""
    import numba as nb
    import numpy as np

    @nb.njit(cache=True)
    def plain(x, y, r):
        zero, one = np.float32(0), np.float32(1)
        for i in range(x.shape[0]):
            for k in range(x.shape[1]):
                v = x[i, k]
                x[i, k] = min(max(v + r * (y[i, k] - v), zero), one)

    return plain


def versions() -> dict[str, str]:
    """Versions and machine, so figures from different runs can be compared fairly."""
    import mesa
    import numba
    import numpy

    with Path("/proc/cpuinfo").open() as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), platform.processor())
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "mesa": mesa.__version__, "cpu": cpu,
            "cores": str(os.cpu_count())}


def child_trust_model(n: int, steps: int, threads: int = 1) -> dict[str, Any]:
    """One TrustModel run in this (fresh) process: set-up and stepping times, peak RSS."""
    import_start = time.perf_counter()
    from sim import TrustModel
    from sim.citizens import STATE

    import_s = time.perf_counter() - import_start
    warmup_s = _warm_up()
    rss_before = _rss_now_mb()
    start = time.perf_counter()
    model = TrustModel(n, rng=SEED, citizen_agents=False, n_steps=steps + PHASE_STEPS,
                       threads=threads)
    built, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    done, cpu = time.perf_counter(), time.process_time() - cpu
    peak = _peak_rss_mb()  # before the phase steps and the plain update's arrays
    trust_mean = model.results.latest("trust_mean")
    phases = time_phases(model, PHASE_STEPS)
    cells = kernel_cells(model)
    plain = plain_clipped_update(n, model.citizens.trust.shape[1])
    c = model.citizens
    state = sum(getattr(c, v.name).nbytes for v in STATE) / n
    return {"citizens": n, "steps": steps, "threads": threads, "import_s": import_s,
            "warmup_s": warmup_s,
            "state_bytes_per_citizen": state,
            "bytes_per_citizen": TrustModel.bytes_per_citizen(c.trust.shape[1],
                                                              len(model.programmes)),
            "setup_s": built - start, "steps_s": done - built, "total_s": done - start,
            "cpu_share": cpu / (done - built),
            "citizen_steps_per_s": n * steps / (done - built),
            "rss_after_warmup_mb": rss_before, "peak_rss_mb": peak,
            "trust_mean": trust_mean, "phase_steps": PHASE_STEPS,
            "phases_ms": {k: v * 1e3 for k, v in phases.items()},
            "kernels_ns_per_cell": {k: phases[k] / cells[k] * 1e9 for k in cells},
            "plain_ns_per_cell": plain * 1e9, "versions": versions()}


def child_mesa(n: int, steps: int) -> dict[str, Any]:
    """The plain Mesa reference: timed run, its agreement with the array model, and the check
    on common random numbers."""
    from experiments.mesa_reference import MesaReference, crn_check
    from sim import TrustModel

    warmup_s = _warm_up()
    source = TrustModel(n, rng=SEED, citizen_agents=False, n_steps=steps)
    start = time.perf_counter()
    reference = MesaReference(source)
    built, cpu = time.perf_counter(), time.process_time()
    step_s = []
    for _ in range(steps):
        t0 = time.perf_counter()
        reference.step()
        step_s.append(time.perf_counter() - t0)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    peak = _peak_rss_mb()
    median = statistics.median(step_s)
    for _ in range(steps):  # the array model from the same start, for the sanity check
        source.step()
    mean_array = source.results.latest("trust_mean")
    mean_mesa = reference.latest["trust_mean"]
    return {"citizens": n, "steps": steps, "warmup_s": warmup_s, "setup_s": built - start,
            "steps_s": done - built, "cpu_share": cpu / (done - built), "median_step_s": median,
            "min_step_s": min(step_s), "max_step_s": max(step_s),
            "citizen_steps_per_s": n * steps / (done - built),
            "citizen_steps_per_s_median_step": n / median, "peak_rss_mb": peak,
            "trust_mean_mesa": mean_mesa, "trust_mean_array": mean_array,
            "trust_mean_diff": abs(mean_mesa - mean_array),
            "crn_check": crn_check(CHECK_CITIZENS, CHECK_STEPS, SEED)}


# ---------------------------------------------------------------- the parent
def run_child(kind: str, n: int, steps: int, env: dict[str, str] | None = None,
              threads: int = 1) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return the JSON it printed last."""
    cmd = [sys.executable, str(Path(__file__).resolve()), kind, str(n), str(steps),
           "--child-threads", str(threads)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed with exit code {proc.returncode}")
    return json.loads(lines[-1])


def cold_compile() -> dict[str, Any]:
    """A 1,000-citizen run with an empty numba cache: what the very first run pays to compile."""
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        return run_child("--child", 1_000, 3, env=env)


def measure(sizes: list[int], steps: int, mesa_citizens: int, mesa_steps: int, big: bool,
            cold: bool, uk: int | None = None) -> dict[str, Any]:
    """All runs, one child each, one after another; returns the summary (the JSON object)."""
    runs = {}
    for n in sizes:
        log(f"TrustModel: {n:,} citizens x {steps} steps ...")
        runs[n] = run_child("--child", n, steps)
        log(f"  {runs[n]['citizen_steps_per_s']:,.0f} citizen-steps/s")
    log(f"plain Mesa reference: {mesa_citizens:,} citizens x {mesa_steps} steps ...")
    mesa = run_child("--child-mesa", mesa_citizens, mesa_steps)
    log(f"  {mesa['citizen_steps_per_s']:,.0f} citizen-steps/s")
    basis = 1_000_000 if 1_000_000 in runs else max(runs)
    one_m = runs.get(1_000_000)
    check = mesa["crn_check"]
    summary: dict[str, Any] = {
        "citizen_steps_per_s": {str(n): r["citizen_steps_per_s"] for n, r in runs.items()},
        "run_1m_120_s": one_m["total_s"] if one_m else None,
        "peak_rss_mb": one_m["peak_rss_mb"] if one_m else None,
        "mesa_citizen_steps_per_s": mesa["citizen_steps_per_s"],
        "speedup_vs_mesa": runs[basis]["citizen_steps_per_s"] / mesa["citizen_steps_per_s"],
        "speedup_basis": f"TrustModel at {basis} citizens / plain Mesa at {mesa_citizens}",
        "mesa_citizen_steps_per_s_median_step": mesa["citizen_steps_per_s_median_step"],
        "speedup_vs_mesa_median_step": (runs[basis]["citizen_steps_per_s"]
                                        / mesa["citizen_steps_per_s_median_step"]),
        "cpu_share": min([mesa["cpu_share"], *(r["cpu_share"] for r in runs.values())]),
        "steps": steps,
        "setup_s": {str(n): r["setup_s"] for n, r in runs.items()},
        "steps_s": {str(n): r["steps_s"] for n, r in runs.items()},
        "peak_rss_mb_by_size": {str(n): r["peak_rss_mb"] for n, r in runs.items()},
        "state_bytes_per_citizen": runs[basis]["state_bytes_per_citizen"],
        "bytes_per_citizen": runs[basis]["bytes_per_citizen"],
        "rss_after_warmup_mb": runs[basis]["rss_after_warmup_mb"],
        "warmup_s": {str(n): r["warmup_s"] for n, r in runs.items()},
        "phase_steps": PHASE_STEPS,
        "phases_ms": {str(n): r["phases_ms"] for n, r in runs.items()},
        "kernels_ns_per_cell": {str(n): r["kernels_ns_per_cell"] for n, r in runs.items()},
        "plain_ns_per_cell": {str(n): r["plain_ns_per_cell"] for n, r in runs.items()},
        "mesa": {k: v for k, v in mesa.items() if k not in ("crn_check", "warmup_s")},
        "reference_check": check,
        "reference_matches": bool(mesa["trust_mean_diff"] < 0.01
                                  and check["max_abs_trust_diff"] < 1e-4
                                  and check["choice_mismatch_share"] < 1e-4),
        "versions": runs[basis]["versions"],
    }
    if big:
        log(f"TrustModel: {BIG_CITIZENS:,} citizens x {BIG_STEPS} steps ...")
        r = run_child("--child", BIG_CITIZENS, BIG_STEPS)
        log(f"  {r['citizen_steps_per_s']:,.0f} citizen-steps/s; again on 2 threads ...")
        two = run_child("--child", BIG_CITIZENS, BIG_STEPS, threads=2)
        log(f"  {two['citizen_steps_per_s']:,.0f} citizen-steps/s")
        summary.update({
            "run_10m_52_s": r["total_s"], "setup_10m_s": r["setup_s"],
            "citizen_steps_per_s_10m": r["citizen_steps_per_s"],
            "peak_rss_mb_10m": r["peak_rss_mb"], "big_under_6gb": r["peak_rss_mb"] < BIG_LIMIT_MB,
            "run_10m_52_s_2_threads": two["total_s"], "setup_10m_s_2_threads": two["setup_s"],
            "citizen_steps_per_s_10m_2_threads": two["citizen_steps_per_s"],
            "speedup_2_threads_10m": two["citizen_steps_per_s"] / r["citizen_steps_per_s"],
            "speedup_2_threads_10m_end_to_end": r["total_s"] / two["total_s"],
            "trust_mean_10m_same": two["trust_mean"] == r["trust_mean"],
        })
    if uk:
        log(f"whole UK: trustsim run, {uk:,} citizens x {UK_STEPS} weeks, {UK_THREADS} threads "
            "...")
        summary["uk"] = run_uk(uk)
        log(f"  {summary['uk']['total_s']:.0f} s, peak RSS {summary['uk']['peak_rss_gb']:.1f} GB")
    if cold:
        log("cold numba cache: 1,000 citizens x 3 steps ...")
        summary["first_run_compile_s"] = cold_compile()["warmup_s"]
    return summary


def run_uk(citizens: int = UK_CITIZENS) -> dict[str, Any]:
    """The whole UK end to end through the command line, in a child process: its wall time,
    its own peak RSS (from ``wait4``) and the machine."""
    with tempfile.TemporaryDirectory(prefix="trustsim-uk-") as folder:
        cmd = [sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "baseline.yaml"),
               "--citizens", str(citizens), "--steps", str(UK_STEPS), "--replicates", "1",
               "--threads", str(UK_THREADS), "--out", str(Path(folder) / "uk"), "--quiet"]
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        total = time.perf_counter() - start
        line = proc.stdout.read().strip() if proc.stdout else ""
        regions = (Path(folder) / "uk" / "regions.csv").is_file()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
    peak_mb = usage.ru_maxrss / 1024
    return {"citizens": citizens, "steps": UK_STEPS, "threads": UK_THREADS,
            "command": " ".join(["trustsim", *cmd[3:]]), "total_s": total,
            "citizen_steps_per_s_end_to_end": citizens * UK_STEPS / total,
            "peak_rss_mb": peak_mb, "peak_rss_gb": peak_mb * 2**20 / 1e9,
            "under_5_min": total < UK_LIMIT_S, "under_16_gb": peak_mb * 2**20 / 1e9 < UK_LIMIT_GB,
            "regions_csv": regions, "result": line, "versions": versions()}


def uk_line(u: dict[str, Any]) -> str:
    """The UK run as one line."""
    return (f"Whole UK, {u['citizens']:,} citizens x {u['steps']} weeks on {u['threads']} "
            f"threads, end to end through `trustsim run` (set-up, steps, results, figures): "
            f"{u['total_s']:.0f} s ({'under' if u['under_5_min'] else 'OVER'} 5 minutes), "
            f"peak RSS {u['peak_rss_gb']:.1f} GB ({'under' if u['under_16_gb'] else 'OVER'} "
            f"16 GB); {u['versions']['cpu']}")


def table(s: dict[str, Any]) -> str:
    """The summary as a readable report."""
    out = [f"TrustModel, default world, one core, {s['steps']} steps "
           f"({s['versions']['cpu']}; Python {s['versions']['python']}, numpy "
           f"{s['versions']['numpy']}, numba {s['versions']['numba']}, mesa "
           f"{s['versions']['mesa']})", "",
           f"{'citizens':>12} {'set-up s':>9} {'steps s':>8} {'citizen-steps/s':>16} "
           f"{'peak RSS MB':>12}"]
    for n, rate in s["citizen_steps_per_s"].items():
        out.append(f"{int(n):>12,} {s['setup_s'][n]:>9.2f} {s['steps_s'][n]:>8.2f} "
                   f"{rate:>16,.0f} {s['peak_rss_mb_by_size'][n]:>12,.0f}")
    out += phase_table(s)
    out.append(f"\nMemory per citizen: {s['state_bytes_per_citizen']:.0f} bytes of declared state "
               f"(sim.citizens.STATE), {s['bytes_per_citizen']:.0f} bytes with buffers and the "
               "network (TrustModel.bytes_per_citizen, the figure the memory check uses)")
    if s["run_1m_120_s"] is not None:
        out.append(f"\n1M citizens x {s['steps']} steps end to end (set-up + steps): "
                   f"{s['run_1m_120_s']:.2f} s, peak RSS {s['peak_rss_mb']:,.0f} MB "
                   f"(of which {s['rss_after_warmup_mb']:,.0f} MB is the interpreter, "
                   "libraries and warm-up)")
    if "run_10m_52_s" in s:
        out.append(f"10M citizens x 52 steps end to end: {s['run_10m_52_s']:.1f} s (set-up "
                   f"{s['setup_10m_s']:.1f} s, {s['citizen_steps_per_s_10m']:,.0f} "
                   f"citizen-steps/s), peak RSS {s['peak_rss_mb_10m']:,.0f} MB "
                   f"({'under' if s['big_under_6gb'] else 'OVER'} 6 GB)")
        out.append(f"  on 2 threads: {s['run_10m_52_s_2_threads']:.1f} s (set-up "
                   f"{s['setup_10m_s_2_threads']:.1f} s, "
                   f"{s['citizen_steps_per_s_10m_2_threads']:,.0f} citizen-steps/s): "
                   f"{s['speedup_2_threads_10m']:.2f}x one thread in the weeks, "
                   f"{s['speedup_2_threads_10m_end_to_end']:.2f}x end to end; same numbers: "
                   f"{'yes' if s['trust_mean_10m_same'] else 'NO'}")
    if "uk" in s:
        out.append(uk_line(s["uk"]))
    m, c = s["mesa"], s["reference_check"]
    out += [
        f"\nPlain Mesa reference, {m['citizens']:,} citizens x {m['steps']} steps: "
        f"{s['mesa_citizen_steps_per_s']:,.0f} citizen-steps/s (set-up {m['setup_s']:.2f} s, "
        f"peak RSS {m['peak_rss_mb']:,.0f} MB)",
        f"  steps took {m['min_step_s']:.3f}-{m['max_step_s']:.3f} s, median "
        f"{m['median_step_s']:.3f} s"
        + (" (the slow ones include Python's full garbage collection of the agents)"
           if m["max_step_s"] > 1.5 * m["median_step_s"] else ""),
        f"Speed-up per citizen-step: {s['speedup_vs_mesa']:,.0f}x ({s['speedup_basis']}); "
        f"{s['speedup_vs_mesa_median_step']:,.0f}x against the median Mesa step "
        f"({s['mesa_citizen_steps_per_s_median_step']:,.0f}/s)",
        f"\nSanity: mean general trust after {m['steps']} steps, Mesa {m['trust_mean_mesa']:.4f}"
        f" vs array {m['trust_mean_array']:.4f} (|diff| {m['trust_mean_diff']:.4f}, want < 0.01)",
        f"Same draws, stress world ({c['citizens']:,} citizens x {c['steps']} steps, "
        f"{c['incidents']} breaches): max |trust diff| {c['max_abs_trust_diff']:.1e}, "
        f"choices differing {c['choice_mismatch_share']:.2%}",
        f"Reference is the same computation: {'yes' if s['reference_matches'] else 'NO'}",
        "Numba warm-up per child (s): " + ", ".join(f"{v:.2f}" for v in s["warmup_s"].values()),
    ]
    if s["cpu_share"] < 0.95:
        out.append(f"WARNING: a timed run got only {s['cpu_share']:.0%} of a core: the machine "
                   "was busy; the figures are low")
    if "first_run_compile_s" in s:
        out.append(f"First run with an empty numba cache (compiles): "
                   f"{s['first_run_compile_s']:.1f} s")
    return "\n".join(out)


def phase_table(s: dict[str, Any]) -> list[str]:
    """Lines: each phase's time per step and per citizen, then the vectorisation check."""
    sizes = list(s["phases_ms"])
    head = "".join(f"{int(n):>11,} ms {'ns/cit':>7}" for n in sizes)
    out = [f"\nTime per step by phase ({s['phase_steps']} further steps of each run):",
           f"{'phase':<18}{head}"]
    rows = [*PHASES, "step"]
    for phase in rows:
        cols = []
        for n in sizes:
            ms = (sum(s["phases_ms"][n].values()) if phase == "step"
                  else s["phases_ms"][n][phase])
            cols.append(f"{ms:>14.3f} {ms * 1e6 / int(n):>7.1f}")
        out.append(f"{phase:<18}" + "".join(cols))
    out += ["\nVectorisation check: ns per cell of each kernel, and as a multiple of a plain "
            "clipped update of the trust array's shape in the same process:",
            f"{'kernel':<18}{'cell':<24}" + "".join(f"{int(n):>11,} ns    x" for n in sizes)]
    for kernel, cell in KERNEL_CELLS:
        cols = [f"{s['kernels_ns_per_cell'][n][kernel]:>14.2f} "
                f"{s['kernels_ns_per_cell'][n][kernel] / s['plain_ns_per_cell'][n]:>5.0f}"
                for n in sizes]
        out.append(f"{kernel:<18}{cell:<24}" + "".join(cols))
    out.append(f"{'plain update':<18}{'citizen x trust column':<24}"
               + "".join(f"{s['plain_ns_per_cell'][n]:>14.2f} {1:>5}" for n in sizes))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    parser.add_argument("--sizes", type=int, nargs="+", help="citizen counts (default: "
                        "10000 100000 1000000)")
    parser.add_argument("--steps", type=int, help=f"steps per run (default {DEFAULT_STEPS})")
    parser.add_argument("--big", action="store_true",
                        help=f"add {BIG_CITIZENS:,} citizens x {BIG_STEPS} steps")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 10k and 100k x 20 steps, Mesa at 2,000 citizens")
    parser.add_argument("--cold", action="store_true",
                        help="also time a first run with an empty numba cache")
    parser.add_argument("--child", type=int, nargs=2, metavar=("N", "STEPS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--child-mesa", type=int, nargs=2, metavar=("N", "STEPS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--uk", action="store_true",
                        help=f"add the whole UK end to end: trustsim run, {UK_CITIZENS:,} "
                             f"citizens x {UK_STEPS} weeks, {UK_THREADS} threads")
    parser.add_argument("--uk-citizens", type=int,
                        help="with --uk: another population size (try 10M or 20M first)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_trust_model(*args.child, threads=args.child_threads)))
        return 0
    if args.child_mesa:
        print(json.dumps(child_mesa(*args.child_mesa)))
        return 0
    quick = QUICK if args.quick else {}
    sizes = args.sizes or list(quick.get("sizes", DEFAULT_SIZES))
    steps = args.steps or quick.get("steps", DEFAULT_STEPS)
    uk = (args.uk_citizens or UK_CITIZENS) if args.uk else None
    if uk and not (args.sizes or args.big or args.quick):  # the UK run alone
        log(f"whole UK: trustsim run, {uk:,} citizens x {UK_STEPS} weeks, {UK_THREADS} "
            "threads ...")
        summary = {"uk": run_uk(uk)}
        print(json.dumps(summary) if args.json else uk_line(summary["uk"]))
        return 0
    summary = measure(sorted(sizes), steps, quick.get("mesa_citizens", MESA_CITIZENS),
                      quick.get("mesa_steps", MESA_STEPS), args.big, args.cold, uk)
    print(json.dumps(summary) if args.json else table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
