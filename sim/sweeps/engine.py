"""Running a sweep's model runs: run keys, tasks, Parquet shards, executors, resume.

Each run is keyed by a SHA-256 of (model code version, model, the resolved scenario with the
point's parameters, the parameters, seed entropy and spawn key, steps, citizens, kept steps,
outputs); the code version hashes the source of the modules a run imports, from ``code_roots``
(:func:`sim.report.code_version`). Runs travel in chunks (plain data: parameters and seed spawn
keys, never model objects); a worker runs each model (trustsim's through
:func:`sim.runner.run_replicate`), keeps only the outputs at the kept steps and writes one
Parquet shard per chunk atomically (:func:`sim.files.write_atomic`) under ``OUT/runs/``. It
returns only the keys it wrote and a failure record for each run that raised. The driver lists
the shards already there and skips their keys, so rerunning a killed sweep loses only the runs
that had not finished.

Executors share the ``concurrent.futures.Executor`` interface: serial (in this process), local
processes (``ProcessPoolExecutor``; a pool broken by a dying worker is recreated and its
unfinished chunks resubmitted, at most ``RETRIES`` times), and Dask distributed
(``Client(address)`` for a cluster, a ``LocalCluster`` on 127.0.0.1 otherwise; a lost worker's
tasks are recomputed by Dask). A run that raises is recorded as a failure and never retried.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import json
import math
import os
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import files, runner
from sim import scenario as sc
from sim.sweeps.spec import DUMMY, TRUSTSIM, model_function

RETRIES = 3
PACKAGE = Path(__file__).resolve().parents[1]


def code_roots(model: str) -> tuple[str, ...]:
    """The modules whose imports are the code a run of ``model`` executes: this engine (it
    shapes every shard) and the model (trustsim's runner, or a test model's module)."""
    return (__name__, "sim.runner" if model == TRUSTSIM else model.partition(":")[0])


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def kept_steps(steps: int, every: int) -> list[int]:
    """Every k-th step from 0, always including the last."""
    return sorted({*range(0, steps + 1, every), steps})


@dataclass(frozen=True)
class Run:
    key: str
    params: dict[str, Any]
    entropy: int
    spawn_key: tuple[int, ...]


@dataclass
class Context:
    """What every run of a sweep shares."""

    model: str
    scenario: dict[str, Any] | None
    steps: int
    citizens: int | None
    kept: tuple[int, ...]
    outputs: tuple[str, ...]
    version: str
    #: ``module:function`` run in place of :func:`sim.runner.run_replicate` for trustsim,
    #: ``f(scenario, seed) -> DataFrame``: a calibration's observer (survey shares measured on
    #: the citizens at every step). None for sweeps, whose run keys it then leaves unchanged.
    observe: str | None = None

    def scenario_for(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if self.scenario is None or self.model != TRUSTSIM:
            return None
        data = copy.deepcopy(self.scenario)
        for path, value in params.items():
            if path != DUMMY:
                sc.set_path(data, path, value)
        return data

    def key(self, params: dict[str, Any], seed: tuple[int, tuple[int, ...]]) -> str:
        payload = {"code": self.version, "model": self.model,
                   "scenario": self.scenario_for(params), "params": params,
                   "seed": {"entropy": seed[0], "spawn_key": list(seed[1])},
                   "steps": self.steps, "citizens": self.citizens, "kept": list(self.kept),
                   "outputs": list(self.outputs)}
        if self.observe is not None:
            payload["observe"] = self.observe
        return hashlib.sha256(canonical(payload).encode()).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """Runs for one worker call, as plain data: what they share, the runs, where shards go."""

    context: Context
    runs: tuple[Run, ...]
    shards: str



# ---------------------------------------------------------------------------- worker side
def _run_model(chunk: Chunk, run: Run) -> pd.DataFrame:
    ctx = chunk.context
    seed = np.random.SeedSequence(run.entropy, spawn_key=run.spawn_key)
    if ctx.model == TRUSTSIM:
        scenario = runner.with_run_settings(ctx.scenario_for(run.params), ctx.citizens,
                                            ctx.steps)
        df = (model_function(ctx.observe)(scenario, seed) if ctx.observe
              else runner.run_replicate(scenario, seed))
    else:
        df = model_function(ctx.model)(dict(run.params), np.random.default_rng(seed), ctx.steps)
    missing = [c for c in ("step", *ctx.outputs) if c not in df.columns]
    if missing:
        raise ValueError(f"the model's output has no column(s) {missing}")
    step = df["step"].to_numpy()
    kept = np.asarray(ctx.kept, np.int64)
    if (len(kept) and kept[-1] < len(step) and step.dtype.kind in "iu"
            and np.array_equal(step, np.arange(len(step))) and np.all(np.diff(kept) > 0)):
        # one row per step from 0 (a trustsim time series): the kept rows are the kept steps;
        # the table the general path below makes, without its pandas passes
        return pd.DataFrame({"key": run.key, "step": kept,
                             **{c: df[c].to_numpy()[kept].astype("float64")
                                for c in ctx.outputs}})
    df = df.loc[df["step"].isin(ctx.kept), ["step", *ctx.outputs]]
    if len(df) != len(ctx.kept):
        raise ValueError(f"the model returned steps {sorted(df['step'])}, expected {ctx.kept}")
    df = df.sort_values("step").astype({c: "float64" for c in ctx.outputs})
    df["step"] = df["step"].astype("int64")
    df.insert(0, "key", run.key)
    return df


def run_chunk(chunk: Chunk) -> dict[str, Any]:
    """Run every run of the chunk, write its shard; return the keys done and the failures."""
    frames, failures = [], []
    for run in chunk.runs:
        try:
            frames.append(_run_model(chunk, run))
        except Exception as err:  # recorded, the sweep goes on
            failure = {"key": run.key, "params": run.params, "error": f"{type(err).__name__}: "
                       f"{err}", "traceback": traceback.format_exc(limit=8)}
            failures.append(failure)
            files.write_json(Path(chunk.shards) / "failures" / f"{run.key}.json", failure)
    keys = [run.key for run in chunk.runs if run.key not in {f["key"] for f in failures}]
    if frames:
        table = pd.concat(frames, ignore_index=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:32]
        files.write_atomic(Path(chunk.shards) / name[:2] / f"{name}.parquet",
                           lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow"))
    return {"keys": keys, "failures": failures, "pid": os.getpid()}


# ---------------------------------------------------------------------------- shards
def claim(out: Path, state: str, record: dict[str, Any], force: bool, kind: str,
          error: type[Exception]) -> None:
    """Use ``out`` as the results folder of a sweep, frontier or calibration (``kind``):
    create it, or resume it if its ``state`` file records the same digest; a folder of another
    spec (or of the spec with other settings), or one that is not such a folder, is refused
    unless ``force`` (its runs are keyed by content, so only matching ones are reused)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / state
    if path.exists():
        if json.loads(path.read_text()).get("digest") != record["digest"] and not force:
            raise error(
                f"{out}: holds the results of a different {kind} spec (or of the spec with "
                "other settings, e.g. --quick); choose another --out, or --force to reuse its "
                "runs (runs are keyed by content, so only matching ones are reused).")
    elif any(p.name != "runs" for p in out.iterdir()) and not force:
        raise error(f"{out}: exists and is not a {kind} folder; choose another --out or "
                    "--force.")
    files.write_json(path, record)


def shard_files(shards: Path) -> list[Path]:
    return sorted(p for p in shards.glob("??/*.parquet"))


def completed(shards: Path) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Keys with a shard, and failure records, already in ``shards`` (stale temp files go)."""
    import pyarrow.parquet as pq

    for tmp in shards.glob("**/.*.tmp"):
        tmp.unlink(missing_ok=True)
    done: set[str] = set()
    for path in shard_files(shards):
        done.update(pq.read_table(path, columns=["key"]).column("key").to_pylist())
    failed = {}
    for path in sorted((shards / "failures").glob("*.json")):
        failed[path.stem] = json.loads(path.read_text())
    return done, failed


def read_shards(shards: Path, keys: set[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in shard_files(shards)]
    if not frames:
        return pd.DataFrame(columns=["key", "step"])
    df = pd.concat(frames, ignore_index=True)
    return df[df["key"].isin(keys)].drop_duplicates(["key", "step"])


# ---------------------------------------------------------------------------- executors
class SerialExecutor(cf.Executor):
    """Runs each task in this process when it is submitted."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:
            future.set_exception(err)
        return future


@dataclass
class Executor:
    """One of serial, processes, dask behind the same submit/restart/close calls."""

    kind: str
    workers: int
    scheduler: str | None = None
    _pool: Any = None
    _client: Any = None
    _cluster: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        runner.single_threaded_workers()
        self._start()

    def _start(self) -> None:
        if self.kind == "serial":
            self._pool = SerialExecutor()
        elif self.kind == "processes":
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers)
        elif self.kind == "dask":
            from dask.distributed import Client, LocalCluster

            if self.scheduler and self.scheduler != "local":
                self._client = Client(self.scheduler)
                self.info["scheduler"] = self.scheduler
            else:
                root = str(PACKAGE.parent)  # spawned workers import sim from here
                saved = os.environ.get("PYTHONPATH")
                path = saved or ""
                if root not in path.split(os.pathsep):
                    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, path) if p)
                try:
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, scheduler_port=0)
                finally:  # only the workers need it: later subprocesses of this one do not
                    if saved is None:
                        os.environ.pop("PYTHONPATH", None)
                    else:
                        os.environ["PYTHONPATH"] = saved
                self._client = Client(self._cluster)
                self.info["scheduler"] = f"LocalCluster({self._client.scheduler.address})"
            self.info["dask_workers"] = len(self._client.scheduler_info()["workers"])
            self._pool = self._client.get_executor(pure=False)
        else:
            raise ValueError(f"unknown executor {self.kind!r}")

    def submit(self, fn, *args) -> cf.Future:
        return self._pool.submit(fn, *args)

    def restart(self) -> None:
        """Replace a broken process pool."""
        self._kill()
        self._start()

    def _kill(self) -> None:
        if self.kind == "processes" and self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self, abort: bool = False) -> None:
        if abort:
            self._kill()
        elif self._pool is not None and self.kind != "dask":
            self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._pool = self._client = self._cluster = None


def choose(workers: int, scheduler: str | None, executor: str | None) -> str:
    if executor and executor != "auto":
        return executor
    if scheduler:
        return "dask"
    return "processes" if workers > 1 else "serial"


def chunk_size(todo: int, workers: int) -> int:
    """Runs per chunk: about 16 chunks per worker, at most 64 runs."""
    return max(1, min(64, math.ceil(todo / (16 * max(workers, 1)))))


@dataclass
class Outcome:
    ran: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    restarts: int = 0
    worker_losses: int = 0


def execute(chunks: Sequence[Chunk], executor: Executor,
            progress: Callable[[int], None] | None = None) -> Outcome:
    """Run the chunks; keep going past failing runs; retry chunks whose worker died."""
    outcome = Outcome()
    pending = deque(chunks)
    inflight: dict[cf.Future, Chunk] = {}
    attempts: dict[int, int] = {}
    window = max(2, 4 * executor.workers)
    try:
        while pending or inflight:
            while pending and len(inflight) < window:
                chunk = pending.popleft()
                inflight[executor.submit(run_chunk, chunk)] = chunk
            done, _ = cf.wait(list(inflight), return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                chunk = inflight.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # the worker died (or the pool broke)
                    broken |= isinstance(err, cf.process.BrokenProcessPool)
                    outcome.worker_losses += 1
                    n = attempts[id(chunk)] = attempts.get(id(chunk), 0) + 1
                    if n <= RETRIES:
                        pending.appendleft(chunk)
                    else:
                        for run in chunk.runs:
                            failure = {"key": run.key, "params": run.params,
                                       "error": f"worker lost {n} times: "
                                                f"{type(err).__name__}: {err}"}
                            outcome.failures.append(failure)
                            files.write_json(
                                Path(chunk.shards) / "failures" / f"{run.key}.json", failure)
                    continue
                outcome.ran += len(result["keys"])
                outcome.failures += result["failures"]
                if progress:
                    progress(len(chunk.runs))
            if broken:
                for future, chunk in inflight.items():
                    future.cancel()
                    pending.appendleft(chunk)
                inflight.clear()
                outcome.restarts += 1
                executor.restart()
    except BaseException:
        executor.close(abort=True)
        raise
    return outcome


def make_chunks(ctx: Context, runs: Iterable[Run], shards: Path, size: int) -> list[Chunk]:
    runs = list(runs)
    return [Chunk(ctx, tuple(runs[i:i + size]), str(shards)) for i in range(0, len(runs), size)]
