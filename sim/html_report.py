"""``report.html``: one page per ``trustsim run`` or ``compare`` that a reader can open offline.

The page holds what a reader of a results folder needs without the code: the scenario's name
and description, a table of the main outputs at the key weeks (mean and 10th-90th percentile
across replicates; for a comparison, the paired differences too), the figures with their
captions (embedded as base64 PNG, so the page is one file with no network access and no
JavaScript), the scenario files as written, the scenario as run, and the provenance from
``manifest.json``. Numbers are computed from the time series itself, so the page does not
depend on the layout of ``summary.json`` or ``comparison.json``. Standard library only (html,
base64), with pandas and scipy, which the package already needs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from sim import files, plots
from sim.valuation import UNIT_LABELS, Unit

if TYPE_CHECKING:
    from sim.scenario import Scenario

#: the outputs in the summary tables, with their labels
HEADLINE = (("trust_mean", "General trust (0-1)"), ("opt_out_rate", "Opted out"),
            ("data_coverage", "Data coverage"), ("service_benefit", "Service benefit (index)"),
            ("public_benefit", "Public benefit (index)"))
CONFIDENCE = 0.95  # of the interval of a mean paired difference, as in comparison.json

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
  margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.lead{color:#555;margin-top:0}.description{max-width:50rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.key,th.key{text-align:left}
.band{display:block;color:#666;font-size:.8rem}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9rem;max-width:60rem}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.7rem;overflow-x:auto;font-size:.8rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}.note{color:#666;font-size:.85rem}
"""


# ------------------------------------------------------------------------------ numbers
def value(column: str, v: float) -> str:
    """A level: trust to 3 decimals, shares as percentages, indices to 4 decimals, amounts in
    real units with their unit."""
    if not np.isfinite(v):
        return "n/a"
    if plots.real_unit(column) is not None:
        return amount(column, v)
    if plots.is_percent(column):
        return f"{v * 100:.2f}%"
    if column.startswith("trust_"):
        return f"{v:.3f}"
    return f"{v:.4f}"


def difference(column: str, v: float) -> str:
    """A difference: trust points, percentage points, the index's own units, or the amount's
    real unit, signed."""
    if not np.isfinite(v):
        return "n/a"
    if plots.real_unit(column) is not None:
        return amount(column, v, signed=True)
    if plots.is_percent(column):
        return f"{v * 100:+.2f} pts"
    if column.startswith("trust_"):
        return f"{v:+.3f}"
    return f"{v:+.4f}"


def amount(column: str, v: float, signed: bool = False) -> str:
    """An amount in a real unit: £42,237,820 (a week), 577 staff hours, 0.0123 QALYs."""
    unit = plots.real_unit(column)
    size = f"{abs(v):,.0f}" if abs(v) >= 100 else f"{abs(v):.3g}"
    sign = ("+" if v >= 0 else "-") if signed else ("-" if v < 0 else "")
    if unit is Unit.GBP:
        return f"{sign}£{size}"
    return f"{sign}{size} {UNIT_LABELS[unit]}"


def band(runs: pd.DataFrame, column: str, step: int) -> tuple[float, float, float]:
    """Mean and 10th and 90th percentiles of ``column`` across replicates at ``step``."""
    x = runs.loc[runs.step == step, column].astype(float)
    if x.empty:
        return (float("nan"),) * 3
    return float(x.mean()), float(x.quantile(0.1)), float(x.quantile(0.9))


def paired(runs: pd.DataFrame, name: str, reference: str, column: str,
           step: int) -> tuple[float, float, float, int]:
    """Mean of ``name`` minus ``reference`` at ``step``, paired by replicate (common random
    numbers), with its t interval at ``CONFIDENCE``; and the number of pairs."""
    at = runs[runs.step == step]
    a = at[at.scenario == name].set_index("replicate")[column]
    b = at[at.scenario == reference].set_index("replicate")[column]
    d = (a - b).dropna().to_numpy(dtype=float)
    n = len(d)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(d.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), n
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * float(d.std(ddof=1)) / np.sqrt(n)
    return mean, mean - half, mean + half, n


# ------------------------------------------------------------------------------ html pieces
def esc(text: Any) -> str:
    """Text for HTML: every character that could start markup escaped."""
    return html.escape(str(text), quote=True)


def week_label(step: int, marks: Sequence[tuple[int, str]], last: int) -> str:
    """'week 5: scandal', 'week 0 (start)', 'week 52 (end)'."""
    names = list(dict.fromkeys(label for s, label in marks if s == step))
    if names:
        return f"week {step}: {', '.join(names)}"
    return f"week {step} (start)" if step == 0 else f"week {step} (end)" if step == last \
        else f"week {step}"


def summary_table(runs: pd.DataFrame, steps: Sequence[int], marks: Sequence[tuple[int, str]],
                  columns: Sequence[tuple[str, str]] = HEADLINE) -> str:
    """Key weeks (rows) x outputs (columns): the mean, and the 10th-90th percentile below."""
    last = int(runs.step.max())
    columns = [(c, label) for c, label in columns if c in runs]
    head = "".join(f"<th>{esc(label)}</th>" for _, label in columns)
    rows = []
    for step in steps:
        cells = []
        for column, _ in columns:
            mean, lo, hi = band(runs, column, step)
            cells.append(f"<td>{value(column, mean)}<span class=band>{value(column, lo)} to "
                         f"{value(column, hi)}</span></td>")
        rows.append(f"<tr><td class=key>{esc(week_label(step, marks, last))}</td>"
                    f"{''.join(cells)}</tr>")
    return (f"<table class=summary><thead><tr><th class=key>week</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def every_output_table(runs: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Every output at the last week: label, column, mean, 10th and 90th percentile."""
    last = int(runs.step.max())
    columns = [c for c in runs.columns if c not in ("scenario", "replicate", "step")]
    rows = []
    for column in columns:
        mean, lo, hi = band(runs, column, last)
        rows.append(f"<tr><td class=key>{esc(plots.label_of(column, labels))}</td>"
                    f"<td class=key><code>{esc(column)}</code></td><td>{value(column, mean)}</td>"
                    f"<td>{value(column, lo)}</td><td>{value(column, hi)}</td></tr>")
    return ("<table><thead><tr><th class=key>output</th><th class=key>column</th><th>mean</th>"
            "<th>10th percentile</th><th>90th percentile</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def comparison_tables(runs: pd.DataFrame, names: Sequence[str], reference: str,
                      steps: Sequence[int], marks: Sequence[tuple[int, str]]) -> str:
    """Per main output: each scenario's mean and band, and each paired difference to the
    reference with its interval, at the key weeks."""
    last = int(runs.step.max())
    others = [n for n in names if n != reference]
    out = []
    for column, label in HEADLINE:
        if column not in runs:
            continue
        head = "".join(f"<th>{esc(n)}{' (reference)' if n == reference else ''}</th>"
                       for n in names)
        head += "".join(f"<th>{esc(n)} minus {esc(reference)}</th>" for n in others)
        rows = []
        for step in steps:
            cells = []
            for n in names:
                mean, lo, hi = band(runs[runs.scenario == n], column, step)
                cells.append(f"<td>{value(column, mean)}<span class=band>{value(column, lo)} "
                             f"to {value(column, hi)}</span></td>")
            for n in others:
                mean, lo, hi, _ = paired(runs, n, reference, column, step)
                cells.append(f"<td>{difference(column, mean)}<span class=band>"
                             f"{difference(column, lo)} to {difference(column, hi)}</span></td>")
            rows.append(f"<tr><td class=key>{esc(week_label(step, marks, last))}</td>"
                        f"{''.join(cells)}</tr>")
        out.append(f"<h3>{esc(label)}</h3><table class=comparison><thead><tr><th class=key>"
                   f"week</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "".join(out)


def figure_html(path: Path, caption: str) -> str:
    """A PNG embedded as base64 with its caption: the page needs no other file."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{esc(caption)}\">"
            f"<figcaption><b>{esc(Path(path).name)}</b>: {esc(caption)}</figcaption></figure>")


def timeline_html(marks: Sequence[tuple[int, str]]) -> str:
    """The events and policies, week by week."""
    if not marks:
        return "<p>No scheduled events or policies.</p>"
    items = "".join(f"<li>week {step}: {esc(label)}</li>" for step, label in marks)
    return f"<ul>{items}</ul>"


def sources_html(manifest: Mapping[str, Any], name: str) -> str:
    """Each scenario file of ``name`` as written (the file and those it extends), escaped,
    with a note where the file has changed since the run read it."""
    out = []
    for k, (path, digest) in enumerate(
            (manifest.get("scenario_files", {}).get(name) or {}).items()):
        try:
            data = Path(path).read_bytes()
        except OSError:
            out.append(f"<h4>{esc(path)}</h4><p class=note>The file can no longer be read.</p>")
            continue
        changed = hashlib.sha256(data).hexdigest() != digest
        note = ("<p class=note>This file has changed since the run read it; SHA-256 at the run: "
                f"<code>{esc(digest)}</code>.</p>" if changed else "")
        text = f"{note}<pre>{esc(data.decode('utf-8', 'replace'))}</pre>"
        if k == 0:  # the file named on the command line; those it extends folded away
            out.append(f"<h4>{esc(path)}</h4>{text}")
        else:
            out.append(f"<details><summary>extended: {esc(path)}</summary>{text}</details>")
    return "".join(out) or "<p class=note>No scenario file recorded.</p>"


def resolved_html(scenario: Scenario) -> str:
    """The scenario as it ran (extends, --set and the command line's sizes applied)."""
    text = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return ("<details><summary>The scenario as run (after <code>extends</code>, "
            f"<code>--set</code> and the command line's sizes)</summary><pre>{esc(text)}</pre>"
            "</details>")


def provenance_html(manifest: Mapping[str, Any]) -> str:
    """Seed, sizes, code version, packages, command and times from ``manifest.json``."""
    code = manifest.get("trustsim", {})
    commit = code.get("commit") or "unknown"
    state = {True: " (uncommitted changes)", False: " (clean)"}.get(code.get("dirty"), "")
    seed = manifest.get("seed", {})
    packages = ", ".join(f"{k} {v}" for k, v in (manifest.get("packages") or {}).items() if v)
    rows = [
        ("command", " ".join(map(str, manifest.get("command", [])))),
        ("trustsim", f"{code.get('version', '?')}, git commit {commit}{state}"),
        ("seed", f"{seed.get('entropy', '?')}; replicate seeds: "
                 f"{seed.get('replicate_seeds', '?')}"),
        ("replicates", seed.get("replicates", "?")),
        ("citizens", f"{manifest.get('citizens', '?'):,}" if isinstance(
            manifest.get("citizens"), int) else manifest.get("citizens", "?")),
        ("steps", f"{manifest.get('steps', '?')} weeks"),
        ("workers", manifest.get("workers", "?")),
        ("started, finished (UTC)", f"{manifest.get('started', '?')}, "
                                    f"{manifest.get('finished', '?')}"),
        ("python", manifest.get("python", "?")),
        ("platform", manifest.get("platform", "?")),
        ("packages", packages),
    ]
    for name, paths in (manifest.get("scenario_files") or {}).items():
        for path, digest in paths.items():
            rows.append((f"file of {name}", f"{path} (SHA-256 {digest})"))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return (f"<dl>{items}</dl><p class=note>Everything above is from "
            "<a href=\"manifest.json\">manifest.json</a>, which also holds each resolved "
            "scenario.</p>")


def page(title: str, body: str) -> str:
    """A complete HTML document with the style sheet inline."""
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n{body}\n"
            "</body></html>\n")


def _manifest(folder: Path, manifest: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if manifest is not None:
        return manifest
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _table(folder: Path) -> str:
    """The name of the time series file in ``folder`` (CSV or Parquet)."""
    parquet = folder / "timeseries.parquet"
    return parquet.name if parquet.exists() else "timeseries.csv"


def _figures(figures: Sequence[Path]) -> str:
    return "".join(figure_html(p, plots.CAPTIONS.get(Path(p).name, "")) for p in figures)


def _sizes(runs: pd.DataFrame, manifest: Mapping[str, Any]) -> str:
    replicates = int(runs.replicate.nunique())
    citizens = manifest.get("citizens")
    who = f" x {citizens:,} citizens" if isinstance(citizens, int) else ""
    seed = manifest.get("seed", {}).get("entropy")
    return (f"{replicates} replicates x {int(runs.step.max())} weeks{who}"
            + (f", seed {seed}" if seed is not None else ""))


# ------------------------------------------------------------------------------ pages
def run_report(runs: pd.DataFrame, scenario: Scenario, key_steps: Sequence[int],
               figures: Sequence[Path], manifest: Mapping[str, Any],
               table: str = "timeseries.csv") -> str:
    """The page of a ``trustsim run``."""
    marks = scenario.marks()
    last = int(runs.step.max())
    body = (
        f"<h1>{esc(scenario.name)}</h1>"
        f"<p class=lead>trustsim run: {esc(_sizes(runs, manifest))}</p>"
        f"<p class=description>{esc(scenario.description.strip()) or 'No description.'}</p>"
        f"<h2>Timeline</h2>{timeline_html(marks)}"
        "<h2>Summary</h2><p>Mean across replicates at the key weeks (the start, every event and "
        "policy, the quarters of the run and the end); below each, the 10th to 90th percentile "
        f"across the {int(runs.replicate.nunique())} replicates. Shares in percent, trust on "
        "its 0-1 scale, service and public benefit as model indices without a unit, amounts in "
        "real units per week for the UK's adults (docs/model.md).</p>"
        f"{summary_table(runs, key_steps, marks)}"
        f"<details><summary>Every output at week {last}</summary>"
        f"{every_output_table(runs, plots.output_labels(scenario))}</details>"
        f"<h2>Figures</h2>{_figures(figures)}"
        f"<h2>Scenario as written</h2>{sources_html(manifest, scenario.name)}"
        f"{resolved_html(scenario)}"
        f"<h2>Provenance</h2>{provenance_html(manifest)}"
        f"<p class=note>Files of this run: <a href=\"{esc(table)}\">{esc(table)}</a>, "
        "<a href=\"summary.json\">summary.json</a>, "
        "<a href=\"manifest.json\">manifest.json</a>.</p>")
    return page(f"trustsim run: {scenario.name}", body)


def compare_report(runs: pd.DataFrame, scenarios: Mapping[str, Scenario], reference: str,
                   key_steps: Sequence[int], figures: Sequence[Path],
                   manifest: Mapping[str, Any], table: str = "timeseries.csv") -> str:
    """The page of a ``trustsim compare``."""
    names = list(scenarios)
    others = [n for n in names if n != reference]
    marks = plots.compare_marks(scenarios)
    described = "".join(
        f"<dt>{esc(n)}{' (reference)' if n == reference else ''}</dt>"
        f"<dd>{esc(s.description.strip()) or 'No description.'}</dd>"
        for n, s in scenarios.items())
    written = "".join(f"<h3>{esc(n)}</h3>{sources_html(manifest, n)}{resolved_html(s)}"
                      for n, s in scenarios.items())
    title = f"{', '.join(others)} compared with {reference}" if others else reference
    body = (
        f"<h1>{esc(title)}</h1>"
        f"<p class=lead>trustsim compare: {esc(_sizes(runs, manifest))} for each scenario, "
        "on common random numbers (replicate r of every scenario runs on the same seed)</p>"
        f"<dl>{described}</dl>"
        f"<h2>Timeline</h2>{timeline_html(marks)}"
        "<h2>Summary</h2><p>For each main output and key week: each scenario's mean across "
        "replicates with the 10th to 90th percentile below it, then each scenario minus the "
        "reference, paired replicate by replicate: the mean difference with its "
        f"{CONFIDENCE:.0%} t interval below it. Shares in percent (differences in percentage "
        "points), trust on its 0-1 scale, service and public benefit as model indices without a "
        "unit, amounts in real units per week for the UK's adults (docs/model.md).</p>"
        f"{comparison_tables(runs, names, reference, key_steps, marks)}"
        f"<h2>Figures</h2>{_figures(figures)}"
        f"<h2>Scenarios as written</h2>{written}"
        f"<h2>Provenance</h2>{provenance_html(manifest)}"
        f"<p class=note>Files of this comparison: <a href=\"{esc(table)}\">{esc(table)}</a>, "
        "<a href=\"comparison.json\">comparison.json</a>, "
        "<a href=\"manifest.json\">manifest.json</a>.</p>")
    return page(f"trustsim compare: {title}", body)


def write_run_report(folder: Path, runs: pd.DataFrame, scenario: Scenario,
                     key_steps: Sequence[int], figures: Sequence[Path],
                     manifest: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` of a run into ``folder`` (its manifest read from there unless
    given)."""
    text = run_report(runs, scenario, key_steps, figures, _manifest(folder, manifest),
                      _table(folder))
    return files.write_text(folder / "report.html", text)


def write_compare_report(folder: Path, runs: pd.DataFrame, scenarios: Mapping[str, Scenario],
                         reference: str, key_steps: Sequence[int], figures: Sequence[Path],
                         manifest: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` of a comparison into ``folder`` (its manifest read from there
    unless given)."""
    text = compare_report(runs, scenarios, reference, key_steps, figures,
                          _manifest(folder, manifest), _table(folder))
    return files.write_text(folder / "report.html", text)
