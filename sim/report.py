"""What a run leaves behind besides its time series: summary, comparison and provenance.

``summary`` gives, per output, the mean and the 10-90% band across replicates at key steps and
at the end; ``paired_differences`` compares scenarios run on the same seeds (common random
numbers), replicate by replicate; ``manifest`` records everything needed to repeat a run;
``code_version`` names the code a run executes (a sweep's run keys depend on it). Writing the
folder whole or not at all is :mod:`sim.files`.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
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
    """The mean difference and its t interval, named for its level (``ci95_low``,
    ``ci95_high``) so it is not mistaken for the 10-90% spread of replicates (``p10``, ``p90``)."""
    n = len(d)
    low, high = f"ci{round(confidence * 100)}_low", f"ci{round(confidence * 100)}_high"
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, low: float("nan"), high: float("nan"), "n": n}
    se = float(d.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return {"mean": mean, low: mean - half, high: mean + half, "n": n}


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


#: what decides a results folder: ``dirty`` means one of these differs from the commit (results
#: and notebooks, which runs rewrite, do not count). Wider than ``imported_files``, on purpose: a
#: folder also holds summaries, figures and manifests (report, plots, cli, experiments) and
#: comes from scenario files, none of which change a run's numbers, which is all a run key needs.
CODE = ("sim", "scenarios", "experiments", "pyproject.toml")
PACKAGE = "sim"
_HOME = Path(__file__).resolve().parents[1]  # the folder that holds the sim package


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``: found on disk within ``sim`` (nothing is imported),
    by the import system elsewhere (a test model's module)."""
    if name.partition(".")[0] == PACKAGE:
        base = _HOME.joinpath(*name.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imports(name: str, path: Path) -> list[str]:
    """The ``sim`` modules that ``name`` imports anywhere in its source (module level, inside
    functions, relative or absolute); ``from sim import x`` names ``sim.x`` when that is a
    module, else ``sim`` itself."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package[:len(package) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            if base.partition(".")[0] == PACKAGE:
                found += [f"{base}.{alias.name}" if _module_file(f"{base}.{alias.name}")
                          else base for alias in node.names]
    return [m for m in found if m.partition(".")[0] == PACKAGE]


def imported_files(roots: Iterable[str]) -> dict[str, Path]:
    """The code a run executes: ``roots`` and every ``sim`` module they import, directly or
    not, by module name (sorted).

    Read from the source, not from ``sys.modules``, so it is the same in every process and
    whatever ran before; a package's ``__init__`` counts only where a module imports the
    package itself (``from sim import __version__``).
    """
    roots = tuple(roots)
    found: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _module_file(name)
        if path is None:
            if name in roots:
                raise ModuleNotFoundError(f"no Python source for module {name!r}")
            continue
        found[name] = path
        todo += _imports(name, path)
    return dict(sorted(found.items()))


def code_version(roots: Iterable[str]) -> str:
    """trustsim's version plus a SHA-256 of the files ``imported_files(roots)`` names (names and
    contents): changing any of them changes the version, editing anything else does not."""
    from sim import __version__

    h = hashlib.sha256()
    for name, path in imported_files(roots).items():
        data = path.read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return f"{__version__}+{h.hexdigest()[:16]}"


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


def significant(value: Any, digits: int = 6) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (in nested dicts and
    lists too): a summary's figures are estimates across a few replicates, and 17 digits
    would claim a precision they do not have."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: significant(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [significant(v, digits) for v in value]
    return value
