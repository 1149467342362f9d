"""docs/model.md and docs/validation.md stay in step with the code.

Each table of docs/model.md that restates a value of the code is read back and compared with the
code: every parameter with its default and range, every programme field with its default, every
citizen state variable with its dtype, every output, the agency kinds, control levels, segments
and the baseline world. Every code reference (``sim.module.name``), test reference
(``test_file.py::test_name``) and relative link in the docs must resolve.

The last test checks that the figures the docs show exist; run it last, or deselect it with
``-k "not figures"`` while the figures are being drawn.
"""

from __future__ import annotations

import enum
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from sim import baseline
from sim.agencies import GENERAL_TRUST, INITIAL_TRUST, RECIPIENT_PENALTY, AgencyKind
from sim.citizens import STATE
from sim.control import CONTROL_LEVEL
from sim.model import TrustModel
from sim.params import TrustParams
from sim.programmes import Barriers, Mandate, Programme
from sim.results import CORE_OUTPUTS, output_names
from sim.segments import NHS_SEGMENTS, trust_factors

ROOT = Path(__file__).resolve().parent.parent
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
PARAMS = TrustParams.model_fields


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_is_in_the_table_with_its_default_and_range(text, name):
    header, rows = keyed(text, "### 8.1")
    assert name in rows, f"TrustParams.{name} is not in the parameter table of docs/model.md"
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
    ("### 2.3", Programme), ("**Mandate**", Mandate), ("**Barriers**", Barriers)])
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
    patterns = output_names(["<agency>"], ["<segment>"], ["<programme>"])
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
    for sub, model in (("mandate", Mandate), ("barriers", Barriers)):
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


# ------------------------------------------------------------------ references in the docs
@pytest.fixture(scope="module")
def small_model() -> TrustModel:
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
def test_code_references_in_the_docs_resolve(doc, small_model):
    source = doc.read_text(encoding="utf-8")
    spans = re.findall(r"`([^`\n]+)`", source)
    dotted = {m for span in spans for m in re.findall(r"\bsim(?:\.[A-Za-z_]\w*)+", span)}
    for ref in sorted(dotted):
        try:
            _resolve(ref)
        except (AttributeError, ModuleNotFoundError) as err:
            pytest.fail(f"{doc.name}: `{ref}` does not resolve ({err})")
    owners = {"TrustModel": small_model, "Agency": _resolve("sim.agencies.Agency"),
              "Citizen": _resolve("sim.citizens.Citizen"), "Programme": Programme,
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


# Keep last: the figures are drawn from the stylized-fact experiments (`make figures`).
@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_referenced_figures_exist(doc):
    missing = [t for t in _links(doc) if t.startswith("figures/") and not (DOCS / t).exists()]
    assert not missing, f"{doc.name}: missing figures {missing}"
