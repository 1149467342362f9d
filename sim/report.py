"""What a run leaves behind besides its time series: summary, comparison and provenance, and
the folder it goes into.

``summary`` gives, per output, the mean and the 10-90% band across replicates at key steps and
at the end; ``paired_differences`` compares scenarios run on the same seeds (common random
numbers), replicate by replicate; ``manifest`` records everything needed to repeat a run;
``results_folder`` makes the folder appear whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

PACKAGES = ("trustsim", "mesa", "numpy", "numba", "scipy", "pandas", "pydantic", "PyYAML",
            "matplotlib", "SALib", "pyarrow")


def outputs(df: pd.DataFrame) -> list[str]:
    """The output columns of a tidy time series (everything but identifiers)."""
    return [c for c in df.columns if c not in ("scenario", "replicate", "step")]


def key_steps(steps: int, events: Iterable[int] = ()) -> list[int]:
    """Steps worth reporting: start, each event, quarters of the run, end."""
    marks = {0, steps, *(round(steps * q) for q in (0.25, 0.5, 0.75))}
    marks.update(s for s in events if 0 <= s <= steps)
    return sorted(marks)


def _band(values: pd.Series) -> dict[str, float]:
    return {"mean": float(values.mean()), "p10": float(values.quantile(0.1)),
            "p90": float(values.quantile(0.9))}


def summary(df: pd.DataFrame, steps: Sequence[int]) -> dict[str, Any]:
    """Per output: mean and 10-90% band across replicates at ``steps`` and at the end."""
    last = int(df.step.max())
    out: dict[str, Any] = {}
    for col in outputs(df):
        by_step = {str(s): _band(df.loc[df.step == s, col]) for s in steps if s <= last}
        out[col] = {"end": _band(df.loc[df.step == last, col]), "steps": by_step}
    return out


def paired_differences(df: pd.DataFrame, reference: str, steps: Sequence[int],
                       confidence: float = 0.95) -> dict[str, Any]:
    """Each scenario minus ``reference``, paired by replicate (same seeds), with a t interval.

    Common random numbers make the pairs share every draw the two scenarios have in common, so
    the interval of the difference is far narrower than that of either scenario.
    """
    base = df[df.scenario == reference].set_index(["replicate", "step"])
    result: dict[str, Any] = {}
    for name in df.scenario.unique():
        if name == reference:
            continue
        other = df[df.scenario == name].set_index(["replicate", "step"])
        diff = (other[outputs(df)] - base[outputs(df)]).reset_index()
        per_output = {}
        for col in outputs(df):
            per_step = {}
            for s in steps:
                d = diff.loc[diff.step == s, col].to_numpy(dtype=float)
                per_step[str(s)] = _interval(d, confidence)
            per_output[col] = per_step
        result[name] = per_output
    return result


def _interval(d: np.ndarray, confidence: float) -> dict[str, float]:
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "n": n}
    se = float(d.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}


def difference_frame(df: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Tidy per-replicate differences to the reference scenario (for plotting)."""
    base = df[df.scenario == reference].set_index(["replicate", "step"])[outputs(df)]
    frames = []
    for name in df.scenario.unique():
        if name == reference:
            continue
        other = df[df.scenario == name].set_index(["replicate", "step"])[outputs(df)]
        frames.append((other - base).reset_index().assign(scenario=name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def file_sha256(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


#: what decides a run's numbers: ``dirty`` means one of these differs from the commit (results
#: and notebooks, which runs rewrite, do not count)
CODE = ("sim", "scenarios", "experiments", "pyproject.toml")


def _git_commit() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *CODE], cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def manifest(*, scenarios: dict[str, dict[str, Any]], files: dict[str, dict[str, str]],
             seed: int, replicates: int, citizens: int, steps: int, workers: int,
             started: dt.datetime, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Provenance of a run: code, environment, inputs (hashed and resolved), seeds, timing."""
    from sim import __version__

    return {
        "trustsim": {"version": __version__, **_git_commit()},
        "python": sys.version,
        "platform": platform.platform(),
        "packages": versions(),
        "command": list(sys.argv if argv is None else argv),
        "scenario_files": files,
        "scenarios": scenarios,
        "seed": {"entropy": seed, "replicates": replicates,
                 "replicate_seeds": "numpy.random.SeedSequence(entropy).spawn(replicates)"},
        "citizens": citizens,
        "steps": steps,
        "workers": workers,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=True)
            f.write("\n")
        publish(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def publish(path: str | os.PathLike[str]) -> None:
    """Give a file made by ``mkstemp`` (private, 0600) the permissions of an ordinary file."""
    os.chmod(path, 0o666 & ~umask())


class OutputError(Exception):
    """A results folder that cannot be made or must not be replaced (bad input: exit 2)."""


@contextmanager
def results_folder(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` only if the block succeeds.

    ``force`` replaces only a trustsim results folder (one with a manifest.json), never the
    folder the command runs in or one of its parents.
    """
    out = out.resolve()
    if out.exists():
        if not force:
            raise OutputError(f"{out}: the results folder already exists; choose another --out "
                              "or add --force to replace it.")
        if not out.is_dir():
            raise OutputError(f"{out}: exists and is not a folder; choose another --out.")
        if not (out / "manifest.json").is_file():
            raise OutputError(f"{out}: exists and is not a trustsim results folder (it has no "
                              "manifest.json); --force replaces only earlier results. Choose "
                              "another --out.")
        if Path.cwd().resolve().is_relative_to(out):
            raise OutputError(f"{out}: cannot replace the folder the command runs in; choose "
                              "another --out.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        tmp.chmod(0o777 & ~umask())  # mkdtemp makes it private; results are ordinary files
    except OSError as err:
        raise OutputError(f"{out}: cannot create the results folder: {err.strerror}.") from None
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def umask() -> int:
    """This process's file-creation mask (reading it means setting it, so set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask

