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
* A check that the reference is the same computation: on common random numbers, in a world with
  frequent breaches, a deadline and every consent regime, the two models should agree to float
  rounding. Separately, the timed Mesa run (its own random draws) should end with mean trust
  within 0.01 of the array model's.

How: every run is a fresh child process (``--child``), so each peak RSS (``ru_maxrss``) is that
run's own. Each child first runs a 1,000-citizen model for a few steps to load numba's compiled
kernels from its on-disk cache (``warmup_s``; it includes compilation when the cache is cold:
``--cold`` measures that once with an empty cache). Thread pools are pinned to one thread, so the
figures are single-core. Runs go one after another, never in parallel.

Read it as: citizen-steps per second is throughput per citizen-week; at 1M citizens a 120-week
run costs ``1e6 * 120 / citizen_steps_per_s`` seconds of stepping. ``--json`` prints one JSON
object on the last stdout line; progress goes to stderr. ``--big`` adds 10M citizens x 52 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
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
CHECK_CITIZENS, CHECK_STEPS = 2_000, 8
QUICK = {"sizes": (10_000, 100_000), "steps": 20, "mesa_citizens": 2_000, "mesa_steps": 5}


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


def child_trust_model(n: int, steps: int) -> dict[str, Any]:
    """One TrustModel run in this (fresh) process: set-up and stepping times, peak RSS."""
    import_start = time.perf_counter()
    from sim import TrustModel
    from sim.citizens import STATE

    import_s = time.perf_counter() - import_start
    warmup_s = _warm_up()
    rss_before = _rss_now_mb()
    start = time.perf_counter()
    model = TrustModel(n, rng=SEED, citizen_agents=False, n_steps=steps)
    built, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    done, cpu = time.perf_counter(), time.process_time() - cpu
    c = model.citizens
    state = sum(getattr(c, v.name).nbytes for v in STATE) / n
    return {"citizens": n, "steps": steps, "import_s": import_s, "warmup_s": warmup_s,
            "state_bytes_per_citizen": state,
            "bytes_per_citizen": TrustModel.bytes_per_citizen(c.trust.shape[1],
                                                              len(model.programmes)),
            "setup_s": built - start, "steps_s": done - built, "total_s": done - start,
            "cpu_share": cpu / (done - built),
            "citizen_steps_per_s": n * steps / (done - built),
            "rss_after_warmup_mb": rss_before, "peak_rss_mb": _peak_rss_mb(),
            "trust_mean": model.results.latest("trust_mean"), "versions": versions()}


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
def run_child(kind: str, n: int, steps: int, env: dict[str, str] | None = None
              ) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return the JSON it printed last."""
    cmd = [sys.executable, str(Path(__file__).resolve()), kind, str(n), str(steps)]
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
            cold: bool) -> dict[str, Any]:
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
        summary.update({
            "run_10m_52_s": r["total_s"], "setup_10m_s": r["setup_s"],
            "citizen_steps_per_s_10m": r["citizen_steps_per_s"],
            "peak_rss_mb_10m": r["peak_rss_mb"], "big_under_6gb": r["peak_rss_mb"] < BIG_LIMIT_MB,
        })
    if cold:
        log("cold numba cache: 1,000 citizens x 3 steps ...")
        summary["first_run_compile_s"] = cold_compile()["warmup_s"]
    return summary


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
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_trust_model(*args.child)))
        return 0
    if args.child_mesa:
        print(json.dumps(child_mesa(*args.child_mesa)))
        return 0
    quick = QUICK if args.quick else {}
    sizes = args.sizes or list(quick.get("sizes", DEFAULT_SIZES))
    steps = args.steps or quick.get("steps", DEFAULT_STEPS)
    summary = measure(sorted(sizes), steps, quick.get("mesa_citizens", MESA_CITIZENS),
                      quick.get("mesa_steps", MESA_STEPS), args.big, args.cold)
    print(json.dumps(summary) if args.json else table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
