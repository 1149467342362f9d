"""docs/model.md and docs/validation.md stay in step with the code.

Each table of docs/model.md that restates a value of the code is read back and compared with the
code: every parameter with its default and range, every programme field with its default, every
citizen state variable with its dtype, every output, the agency kinds, control levels, segments,
the other fixed constants, the random streams with their keys and kinds of draw (read from the
source of ``sim``), the events with their fields and defaults, and the baseline world with its
derived values; so is the mean degree of the network quoted in the text. Every code reference
(``sim.module.name``), test reference (``test_file.py::test_name``) and relative link in the docs
must resolve.

The documentation site (mkdocs.yml, ``make docs``) builds offline in strict mode, without a
warning. The last test checks that the figures the docs show exist; run it last, or deselect it
with ``-k "not figures"`` while the figures are being drawn.
"""

from __future__ import annotations

import ast
import enum
import importlib
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from sim import baseline, breaches, control, mandates, sharing
from sim.agencies import GENERAL_TRUST, INITIAL_TRUST, RECIPIENT_PENALTY, AgencyKind
from sim.catchment import Catchment
from sim.citizens import STATE
from sim.control import CONTROL_LEVEL
from sim.events import Event
from sim.model import TrustModel
from sim.network import NetworkParams, build_network
from sim.params import TrustParams
from sim.programmes import Barriers, Blame, Mandate, Programme, Response
from sim.results import CORE_OUTPUTS, output_names
from sim.segments import NHS_SEGMENTS, trust_factors
from sim.valuation import Evidence, Harm, Value

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"
DOCS = ROOT / "docs"
MODEL_MD = DOCS / "model.md"
DOC_FILES = sorted(DOCS.glob("*.md"))


@pytest.fixture(scope="module")
def text() -> str:
    return MODEL_MD.read_text(encoding="utf-8")


# ------------------------------------------------------------------ reading markdown tables
def table_after(text: str, marker: str) -> tuple[list[str], list[list[str]]]:
    """The first markdown table after ``marker``: (header cells, rows of cells)."""
    assert marker in text, f"docs/model.md has no {marker!r}"
    lines = text[text.index(marker):].splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, rows = block[0], block[2:]
    for row in rows:
        assert len(row) == len(header), f"table after {marker!r}: bad row {row}"
    return header, rows


def key(cell: str) -> str:
    """The first `code` token of a cell (the row's name), or the plain cell."""
    m = re.search(r"`([^`]+)`", cell)
    return m.group(1) if m else cell


def plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def keyed(text: str, marker: str) -> tuple[list[str], dict[str, list[str]]]:
    header, rows = table_after(text, marker)
    by_key: dict[str, list[str]] = {}
    for row in rows:
        k = key(row[0])
        assert k not in by_key, f"table after {marker!r}: {k!r} twice"
        by_key[k] = row
    return header, by_key


def fmt(value: object) -> str:
    """How docs/model.md writes a default or baseline value."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return repr(value) if isinstance(value, float | int) and not isinstance(value, bool) \
        else str(value)


def field_default(field) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return f"{field.default_factory.__name__}()"
    return fmt(field.default)


def bound(field, *names: str) -> float | None:
    for meta in field.metadata:
        for name in names:
            if getattr(meta, name, None) is not None:
                return getattr(meta, name)
    return None


# ------------------------------------------------------------------ parameters
PARAMS = {**TrustParams.model_fields, **NetworkParams.model_fields}  # one table, two models


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_is_in_the_table_with_its_default_and_range(text, name):
    header, rows = keyed(text, "### 8.1")
    assert name in rows, f"parameter {name} is not in the parameter table of docs/model.md"
    row = dict(zip(header, rows[name], strict=True))
    field = PARAMS[name]
    assert float(plain(row["Default"])) == field.default, (name, row["Default"], field.default)
    lo, hi = (float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", row["Range"]))
    assert (lo, hi) == (bound(field, "ge", "gt"), bound(field, "le", "lt")), (name, row["Range"])
    assert row["Meaning"] and row["Unit"] and row["Source"], name
    if "[P]" in (field.json_schema_extra or {}).get("source", ""):
        assert "[P]" in row["Source"], f"{name}: the code marks its source as a proposal [P]"


def test_parameter_table_has_no_stale_rows(text):
    _, rows = keyed(text, "### 8.1")
    assert set(rows) == set(PARAMS), set(rows) ^ set(PARAMS)


# ------------------------------------------------------------------ programmes
@pytest.mark.parametrize(("marker", "model"), [
    ("### 2.3", Programme), ("**Mandate**", Mandate), ("**Barriers**", Barriers),
    ("**Blame**", Blame), ("**Value**:", Value), ("**Harm**:", Harm),
    ("**Evidence**:", Evidence), ("**Response**", Response)])
def test_every_programme_field_is_documented_with_its_default(text, marker, model):
    header, rows = keyed(text, marker)
    assert set(rows) == set(model.model_fields), set(rows) ^ set(model.model_fields)
    for name, field in model.model_fields.items():
        row = dict(zip(header, rows[name], strict=True))
        assert plain(row["Default"]) == field_default(field), (model.__name__, name, row)
        assert row["Meaning and use"], (model.__name__, name)


# ------------------------------------------------------------------ citizens and outputs
def test_every_state_variable_is_documented_with_its_dtype(text):
    header, rows = keyed(text, "### 2.1 Citizens")
    assert set(rows) == {v.name for v in STATE}, set(rows) ^ {v.name for v in STATE}
    for var in STATE:
        row = dict(zip(header, rows[var.name], strict=True))
        assert plain(row["dtype"]) == np.dtype(var.dtype).name, var.name
        assert float(plain(row["Fill"])) == var.default, var.name


def test_every_output_and_output_pattern_is_documented(text):
    _, rows = keyed(text, "### 4.11")
    amounts = [(kind, "<programme>", "<unit>") for kind in ("benefit", "harm", "evidence")]
    patterns = output_names(["<agency>"], ["<segment>"], ["<programme>"], amounts)
    assert set(CORE_OUTPUTS) <= set(patterns)
    assert set(rows) == set(patterns), set(rows) ^ set(patterns)


# ------------------------------------------------------------------ constants and the world
def test_agency_kinds_table_matches_the_code(text):
    header, rows = keyed(text, "### 8.2")
    assert set(rows) == {k.value for k in AgencyKind} | {"general"}
    for kind in AgencyKind:
        row = dict(zip(header, rows[kind.value], strict=True))
        assert float(row["Initial trust"]) == INITIAL_TRUST[kind], kind
        assert float(row["Recipient penalty"]) == RECIPIENT_PENALTY[kind], kind
    assert float(dict(zip(header, rows["general"], strict=True))["Initial trust"]) == GENERAL_TRUST


def test_control_levels_table_matches_the_code(text):
    _, rows = keyed(text, "### 8.3")
    assert {k: float(r[1]) for k, r in rows.items()} == {
        regime.name.lower(): level for regime, level in CONTROL_LEVEL.items()}


def test_segments_table_matches_the_code(text):
    header, rows = keyed(text, "**Segments** (`sim.segments.NHS_SEGMENTS`")
    assert list(rows) == [s.key for s in NHS_SEGMENTS]
    for seg, factor in zip(NHS_SEGMENTS, trust_factors(NHS_SEGMENTS), strict=True):
        row = dict(zip(header, rows[seg.key], strict=True))
        assert row["Label"] == seg.label
        for column, value in (("Share", seg.share), ("NHS trust", seg.nhs_trust),
                              ("Control", seg.control), ("Need", seg.need)):
            assert float(row[column]) == value, (seg.key, column)
        assert float(row["$f_s$"]) == pytest.approx(factor, abs=5e-4), seg.key


def test_baseline_agencies_table_matches_the_code(text):
    _, rows = keyed(text, "**Agencies** (`sim.baseline.AGENCIES`")
    assert {k: (r[1], r[2]) for k, r in rows.items()} == {
        a.name: (a.kind.value, a.label) for a in baseline.AGENCIES}


def _flat(data: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def test_baseline_programmes_table_matches_the_code(text):
    header, rows = keyed(text, "**Programmes** (`sim.baseline.PROGRAMMES`)")
    names = [key(cell) for cell in header[2:]]
    assert names == [p.name for p in baseline.PROGRAMMES]
    defaults = {name: field_default(f) for name, f in Programme.model_fields.items()}
    for sub, model in (("mandate", Mandate), ("barriers", Barriers), ("blame", Blame),
                       ("catchment", Catchment)):
        del defaults[sub]
        defaults.update({f"{sub}.{n}": field_default(f) for n, f in model.model_fields.items()})
    del defaults["name"]
    assert set(rows) == set(defaults), set(rows) ^ set(defaults)
    for field, row in rows.items():
        assert plain(row[1]) == defaults[field], field
    for column, programme in enumerate(baseline.PROGRAMMES, start=2):
        for field, value in _flat(programme.model_dump()).items():
            if field == "name":
                continue
            cell = plain(rows[field][column])
            expected = "·" if fmt(value) == defaults[field] else fmt(value)
            assert cell == expected, (programme.name, field, cell, expected)


def _shown(cell: str) -> tuple[float, float]:
    """A number as the docs show it, and half a unit of its last decimal (the rounding)."""
    number = plain(cell).replace(",", "")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number), 0.5 * 10.0 ** -decimals + 1e-12


def test_baseline_derived_values_table_matches_the_code(text, table):
    header, rows = keyed(text, "Derived values of the baseline")
    assert header == ["Programme", r"$\rho_p$", "$L_p$", "risk $r_p$", "mandate cost",
                      "control $K_p$", "yearly breaches at full consent"]
    params = TrustParams()
    programmes = table(*baseline.PROGRAMMES)
    # everyone consents: C_p = rho_p
    weekly = breaches.hazard(programmes, programmes.realisation, params)
    derived = np.column_stack([
        programmes.realisation, programmes.legitimacy, sharing.risk(programmes, params),
        mandates.trust_cost(programmes), control.control_level(programmes, params),
        -np.log1p(-weekly) * 52])
    assert list(rows) == [p.name for p in baseline.PROGRAMMES]
    for values, row in zip(derived, rows.values(), strict=True):
        for column, value, cell in zip(header[1:], values, row[1:], strict=True):
            shown, tolerance = _shown(cell)
            assert abs(shown - value) <= tolerance, (row[0], column, cell, value)


def test_fixed_constants_table_matches_the_code(text):
    _, rows = keyed(text, "### 8.4")
    for name, row in rows.items():
        shown = [float(x.replace(",", "")) for x in plain(row[1]).split(", ")]
        actual = np.ravel(_resolve(name)).astype(float)
        np.testing.assert_allclose(shown, actual, rtol=0, atol=1e-12, err_msg=name)


# ------------------------------------------------------------------ random streams
def _stream_calls() -> list[tuple[str, str, ast.Call]]:
    """Every draw from a named stream in the package: (stream name, method, call); a span of
    a draw (``uniform_span``, ``bits_span``) counts as the draw. sim/streams.py is left out:
    its ``probe`` stream only checks the compiled draws against numpy's and feeds no
    mechanism."""
    calls = []
    for path in sorted(p for p in SIM.glob("*.py") if p.name != "streams.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("generator", "uniform", "bits", "uniform_span",
                                           "bits_span", "random") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                calls.append((node.args[0].value, node.func.attr, node))
    return calls


def test_stream_table_lists_every_stream_with_its_keys_and_draws(text):
    header, rows = keyed(text, "**Named random streams")
    assert header[:4] == ["Stream", "Step key", "Sub-keys", "Draws"]
    calls = _stream_calls()
    assert {name for name, _, _ in calls} == set(rows), \
        {name for name, _, _ in calls} ^ set(rows)
    for name, method, call in calls:
        _, step_cell, sub_cell, draws = rows[name][:4]
        step = call.args[1]
        if isinstance(step, ast.Constant):
            assert plain(step_cell) == str(step.value), (name, step_cell)
        else:
            assert step_cell == "$t$", (name, step_cell)
        subs = {"generator": call.args[2:], "uniform_span": call.args[4:],
                "bits_span": call.args[4:]}.get(method, call.args[3:])
        method = method.removesuffix("_span")
        items = [item.strip() for item in sub_cell.split(",") if item.strip()]
        assert len(items) == len(subs), (name, sub_cell, [ast.unparse(a) for a in subs])
        for item, arg in zip(items, subs, strict=True):
            source = ast.unparse(arg)
            if "serial" in source:
                assert "serial" in item, (name, item, source)
            elif source == "p":
                assert item == "$p$", (name, item, source)
        if method == "bits":
            assert "32-bit" in draws and "Streams.bits" in draws, (name, draws)
        elif method in ("uniform", "random"):
            assert "uniform" in draws and "32-bit" not in draws, (name, draws)


# ------------------------------------------------------------------ events and the network
def test_events_table_lists_every_event_with_its_fields_and_defaults(text):
    _, rows = keyed(text, "### 7.8")
    events = typing.get_args(typing.get_args(Event)[0])
    assert set(rows) == {cls.__name__ for cls in events}, set(rows) ^ {c.__name__ for c in events}
    for cls in events:
        cell = rows[cls.__name__][1]
        fields = {name: f for name, f in cls.model_fields.items()
                  if name not in ("step", "programme", "type")}
        listed = re.findall(r"`(\w+)`(?: \(|:)", cell)  # "`name` (default ...)" or "`name`: ..."
        assert sorted(listed) == sorted(fields), (cls.__name__, cell)
        for name, field in fields.items():
            if not field.is_required():
                assert f"`{name}` ({field.default}" in cell, (cls.__name__, name, cell)


def test_mean_degree_quoted_in_the_docs_matches_the_network():
    network = build_network(10_000, np.random.default_rng(1), NetworkParams())
    degree = network.nnz / network.shape[0]
    quoted = [q for doc in DOC_FILES for q in
              re.findall(r"[Mm]ean degree is about (\d+(?:\.\d+)?)", doc.read_text("utf-8"))]
    assert quoted, "the docs no longer quote the mean degree"
    for cell in quoted:
        shown, tolerance = _shown(cell)
        assert abs(shown - degree) <= tolerance, (cell, degree)


# ------------------------------------------------------------------ references in the docs
@pytest.fixture(scope="module")
def tiny_model() -> TrustModel:
    return TrustModel(50, rng=0, citizen_agents=False)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_code_references_in_the_docs_resolve(doc, tiny_model):
    source = doc.read_text(encoding="utf-8")
    spans = re.findall(r"`([^`\n]+)`", source)
    dotted = {m for span in spans for m in re.findall(r"\bsim(?:\.[A-Za-z_]\w*)+", span)}
    for ref in sorted(dotted):
        try:
            _resolve(ref)
        except (AttributeError, ModuleNotFoundError) as err:
            pytest.fail(f"{doc.name}: `{ref}` does not resolve ({err})")
    owners = {"TrustModel": tiny_model, "Agency": _resolve("sim.agents.Agency"),
              "Citizen": _resolve("sim.agents.Citizen"), "Programme": Programme,
              "ProgrammeTable": _resolve("sim.programmes.ProgrammeTable"),
              "Streams": _resolve("sim.streams.Streams")}
    pattern = rf"\b({'|'.join(owners)})\.(\w+)"
    for owner, attr in sorted({m for span in spans for m in re.findall(pattern, span)}):
        assert hasattr(owners[owner], attr), f"{doc.name}: `{owner}.{attr}` does not exist"


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_tests_named_in_the_docs_exist(doc):
    refs = set(re.findall(r"(test_\w+\.py)::(test_\w+)", doc.read_text(encoding="utf-8")))
    for file, name in sorted(refs):
        path = ROOT / "tests" / file
        assert path.exists(), f"{doc.name}: no tests/{file}"
        assert re.search(rf"^def {name}\(", path.read_text(encoding="utf-8"), re.M), \
            f"{doc.name}: no {name} in tests/{file}"


def _links(doc: Path) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8"))
    return [t.split("#")[0] for t in targets
            if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_relative_links_in_the_docs_exist(doc):
    for target in _links(doc):
        if target.startswith("figures/"):
            continue  # the last test
        assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"


def test_the_seven_stylized_fact_figures_are_referenced(text):
    figures = {t for t in _links(MODEL_MD) if t.startswith("figures/")}
    assert {f"figures/sf{n}_" in " ".join(figures) for n in range(1, 8)} == {True}


# ------------------------------------------------------------------ the documentation site
#: every proxy points at a closed port: a build that reaches for the network fails
OFFLINE = {name: "http://127.0.0.1:9" for name in
           ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")}


@pytest.mark.integration
def test_the_documentation_site_builds_offline_without_a_warning(tmp_path):
    """``make docs``: every page, the executed notebooks and the API reference, with the links
    MkDocs checks (pages, anchors, the repository files the pages link to) all resolving."""
    env = {**os.environ, **OFFLINE, "NO_PROXY": "", "no_proxy": "", "NO_MKDOCS_2_WARNING": "1"}
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    pages = [*(f"{p.stem}/index.html" for p in DOC_FILES if p.stem != "index"), "index.html",
             *(f"notebooks/{p.stem}/index.html" for p in sorted((ROOT / "notebooks").glob(
                 "*.ipynb")))]
    assert [p for p in pages if not (site / p).is_file()] == []
    reference = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("sim.api.run", "sim.api.compare", "sim.api.read_results",
                 "sim.model.TrustModel.citizens_frame"):
        assert f'id="{name}"' in reference, f"the API reference has no {name}"
    assert (site / "scenarios" / "baseline.yaml").is_file()  # a page links to it


# Keep last: the figures are drawn from the stylized-fact experiments (`make figures`).
@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_referenced_figures_exist(doc):
    missing = [t for t in _links(doc) if t.startswith("figures/") and not (DOCS / t).exists()]
    assert not missing, f"{doc.name}: missing figures {missing}"


def test_every_figure_shown_is_drawn_by_a_make_target():
    """Each picture shown or linked in README.md, docs/ and results/README.md comes from a
    command: the Makefile names the file itself or passes its folder as an --out."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    outs = set(re.findall(r"--out (\S+)", makefile))
    pages = [ROOT / "README.md", ROOT / "results" / "README.md", *DOC_FILES]
    shown = {(page.parent / t).resolve().relative_to(ROOT)
             for page in pages for t in re.findall(r"\]\(([^)\s]+\.png)\)",
                                                   page.read_text(encoding="utf-8"))}
    assert len(shown) >= 10
    for figure in sorted(shown):
        assert str(figure) in makefile or str(figure.parent) in outs, \
            f"{figure}: no make target draws it"
