"""The scenario format: docs/scenarios.md documents all of it; ``sim.scenario`` does what it says.

The first part reads docs/scenarios.md back against the JSON Schema (``sim.scenario.schema()``):
every field of every section, walked through the schema's properties and ``$defs``, must have a
row in its section of the reference with its type, its default, its range and its allowed values;
every command option must be in its command's section; every example file must load and every
``--set`` example must apply. A field added to the schema and not documented fails here.

The second part tests ``sim.scenario`` in-process: ``extends`` merging, dotted paths, overrides,
located problems, duplicate keys, the dry run of policy changes, the expansion of policies into
events, replicate seeds and the memory estimate; and that the lists the format is built from have
one source each (event types, policy levers, network fields, the world's checks).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import typing
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import events, runner, world
from sim import scenario as sc
from sim.agencies import AgencySpec
from sim.cli import build_parser
from sim.events import Breach, PolicyChange, Scandal
from sim.model import CITIZEN_AGENTS_MAX
from sim.network import NetworkParams
from sim.programmes import Mandate, Programme
from sim.segments import NHS_SEGMENTS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scenarios.md"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ROOT_SECTION = "Scenario"  # the schema's top level, documented as `Scenario`


# ================================================================== reading docs/scenarios.md
def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (code lines become empty, to keep numbering)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return out


def blocks(text: str, names: set[str]) -> dict[str, list[str]]:
    """The lines that document each name: from each line that ends with `Name` (a heading or a
    paragraph) to the next such line or heading. A name may have several blocks."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in prose_lines(text):
        marker = re.search(r"`(\w+)`\s*$", line)
        if marker and marker.group(1) in names:
            current = marker.group(1)
            out.setdefault(current, [])
            continue
        if line.startswith("#"):
            current = None
        if current is not None:
            out[current].append(line)
    return out


def rows(lines: list[str]) -> dict[str, list[str]]:
    """Table rows by the `name` in their first cell: the row's cells."""
    out = {}
    for line in lines:
        m = re.match(r"\| `([^`]+)` \|", line)
        if m:
            out[m.group(1)] = [c.strip() for c in line.strip().strip("|").split("|")]
    return out


def command_section(text: str, command: str) -> str:
    """The section whose heading names `trustsim COMMAND`, up to the next heading."""
    lines = prose_lines(text)
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("#") and f"`trustsim {command}`" in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")),
               len(lines))
    return "\n".join(lines[start:end])


# ================================================================== what the schema says
def _num(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def _alternatives(prop: dict) -> list[dict]:
    return [a for a in prop.get("anyOf", [prop]) if a.get("type") != "null"]


def _nullable(prop: dict) -> bool:
    return any(a.get("type") == "null" for a in prop.get("anyOf", []))


def _ref(node: dict) -> str | None:
    return node["$ref"].rsplit("/", 1)[-1] if "$ref" in node else None


def expected_range(prop: dict) -> str | None:
    """The range as the doc writes it: [a, b], (a, b), [a, b), >= a as '≥ a', ..."""
    for a in _alternatives(prop):
        lo = (("[", a["minimum"]) if "minimum" in a else
              ("(", a["exclusiveMinimum"]) if "exclusiveMinimum" in a else None)
        hi = ((a["maximum"], "]") if "maximum" in a else
              (a["exclusiveMaximum"], ")") if "exclusiveMaximum" in a else None)
        if lo and hi:
            return f"{lo[0]}{_num(lo[1])}, {_num(hi[0])}{hi[1]}"
        if lo:
            return ("≥ " if lo[0] == "[" else "> ") + _num(lo[1])
        if hi:
            return ("≤ " if hi[1] == "]" else "< ") + _num(hi[0])
    return None


def expected_types(prop: dict, defs: dict) -> set[str]:
    """The words the type cell must contain: integer, number, string, boolean, mapping, list."""
    words = set()
    for a in _alternatives(prop):
        ref = _ref(a)
        if ref:
            words.add("string" if "enum" in defs[ref] else "mapping")
        elif "const" in a:
            words.add("string")
        else:
            words.add({"object": "mapping", "array": "list"}.get(a.get("type"), a.get("type")))
    return words


def expected_values(prop: dict, defs: dict) -> list[str]:
    """Values the allowed cell must list: enum values, a const, a pattern."""
    out = []
    for a in _alternatives(prop):
        ref = _ref(a)
        if ref and "enum" in defs[ref]:
            out += [str(v) for v in defs[ref]["enum"]]
        if "const" in a:
            out.append(str(a["const"]))
        if "pattern" in a:
            out.append(a["pattern"])
    return out


def documented_problems(schema: dict, text: str) -> list[str]:
    """Everything in ``schema`` that docs/scenarios.md does not document as it should."""
    defs = schema["$defs"]
    sections = {ROOT_SECTION: schema, **defs}
    found = blocks(text, set(sections))
    problems = []
    for name, section in sections.items():
        if name not in found:
            problems.append(f"no section for `{name}` (a line ending with `{name}`)")
            continue
        table = rows(found[name])
        if "enum" in section:
            problems += [f"{name}: value `{v}` has no row" for v in section["enum"]
                         if str(v) not in table]
            continue
        for field, prop in section.get("properties", {}).items():
            where = f"{name}.{field}"
            if field not in table:
                problems.append(f"{where}: no row")
                continue
            cells = table[field]
            if len(cells) != 5:
                problems.append(f"{where}: expected 5 cells (field, type, default, allowed, "
                                f"meaning), got {len(cells)}")
                continue
            _, kind, default, allowed, meaning = cells
            if field in section.get("required", []):
                if "required" not in default:
                    problems.append(f"{where}: default cell should say 'required'")
            elif "default" in prop and f"`{json.dumps(prop['default'])}`" not in default:
                problems.append(f"{where}: default `{json.dumps(prop['default'])}` not in "
                                f"{default!r}")
            for word in expected_types(prop, defs):
                if word not in kind:
                    problems.append(f"{where}: type {word!r} not in {kind!r}")
            bound = expected_range(prop)
            if bound and bound not in allowed:
                problems.append(f"{where}: range {bound!r} not in {allowed!r}")
            for value in expected_values(prop, defs):
                if f"`{value}`" not in allowed:
                    problems.append(f"{where}: allowed value `{value}` not in {allowed!r}")
            if _nullable(prop) and "null" not in allowed:
                problems.append(f"{where}: may be null, not said in {allowed!r}")
            if not meaning:
                problems.append(f"{where}: no meaning")
    return problems


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


# ================================================================== the doc documents the schema
def test_every_field_of_the_schema_is_documented_with_type_default_and_range(doc):
    problems = documented_problems(sc.schema(), doc)
    assert not problems, "docs/scenarios.md is out of step with the schema:\n" + \
        "\n".join(problems)


def test_the_doc_check_notices_what_is_missing(doc):
    """The check above can fail: a new field, a new section, a changed default, a new value."""
    schema = sc.schema()
    added = copy.deepcopy(schema)
    added["$defs"]["Programme"]["properties"]["cost"] = {"type": "number", "default": 1.0}
    assert documented_problems(added, doc) == ["Programme.cost: no row"]
    nested = copy.deepcopy(schema)
    nested["$defs"]["Levy"] = {"type": "object", "properties": {"rate": {"type": "number"}}}
    assert documented_problems(nested, doc) == ["no section for `Levy` (a line ending with "
                                                "`Levy`)"]
    changed = copy.deepcopy(schema)
    changed["$defs"]["TrustParams"]["properties"]["drift"]["default"] = 0.03
    assert any("TrustParams.drift: default `0.03`" in p
               for p in documented_problems(changed, doc))
    widened = copy.deepcopy(schema)
    widened["$defs"]["Consent"]["enum"].append("presumed")
    assert "Consent: value `presumed` has no row" in documented_problems(widened, doc)
    top = copy.deepcopy(schema)
    top["properties"]["budget"] = {"type": "integer", "default": 0}
    assert documented_problems(top, doc) == ["Scenario.budget: no row"]


def test_the_reference_walks_every_nested_section(doc):
    """Every section the schema reaches from the top level is one the check above visits."""
    schema = sc.schema()
    seen, todo = set(), [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                name = _ref(node)
                if name not in seen:
                    seen.add(name)
                    todo.append(schema["$defs"][name])
            todo += list(node.values())
        elif isinstance(node, list):
            todo += node
    assert seen == set(schema["$defs"])  # nothing unreachable, nothing missed
    assert set(blocks(doc, seen | {ROOT_SECTION})) == seen | {ROOT_SECTION}


def test_segments_and_event_types_are_documented(doc):
    population = "\n".join(blocks(doc, {"PopulationSpec"})["PopulationSpec"])
    for segment in NHS_SEGMENTS:
        assert f"`{segment.key}`" in population, segment.key
    events = sc.schema()["properties"]["timeline"]["items"]["discriminator"]["mapping"]
    timeline = doc[doc.index("## 5. Timeline events"):doc.index("## 6. Commands")]
    for kind in events:
        assert f"| `{kind}` |" in timeline, kind


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_every_command_and_option_is_documented(doc):
    commands = _subcommands()
    assert set(commands) == {"run", "validate", "compare", "schema", "sweep", "frontier",
                             "calibrate", "app"}
    for name, parser in commands.items():
        section = command_section(doc, name)
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in section, f"trustsim {name} {option}"
            for choice in action.choices or ():
                assert f"`{option} {choice}`" in section, f"trustsim {name} {option} {choice}"
    run = command_section(doc, "run")
    for output in ("timeseries.csv", "timeseries.parquet", "summary.json", "manifest.json",
                   "trust.png", "opt_out.png", "coverage.png", "benefit.png", "groups.csv",
                   "regions.csv", "regions.png"):
        assert f"`{output}`" in run, output
    compare = command_section(doc, "compare")
    for output in ("comparison.json", "comparison.png", "paired_difference", "manifest.json"):
        assert f"`{output}`" in compare, output


def example_files(text: str) -> dict[str, str]:
    """The doc's YAML examples that start with a '# file: NAME' line, by name."""
    return {m.group(1): m.group(0) for m in
            re.finditer(r"(?<=```yaml\n)# file: (\S+)\n.*?(?=```)", text, re.S)}


@pytest.fixture
def examples(doc, scenario_dir) -> Path:
    """The doc's example files, beside a copy of the baseline, in a folder."""
    files = example_files(doc)
    assert {"my_case.yaml", "parent.yaml", "child.yaml", "levers.yaml"} <= set(files)
    for name, text in files.items():
        (scenario_dir / name).write_text(text, encoding="utf-8")
    return scenario_dir


def test_the_example_files_load(examples):
    for path in sorted(examples.glob("*.yaml")):
        sc.load(path)  # raises ScenarioError with the problems if not
    case = sc.load(examples / "my_case.yaml")
    assert case.name == "dynamic_consent_after_breach"
    assert "analytics" in case.programmes and "tech" in case.agencies
    assert case.programmes["gp_records"].publicity == 0.8
    assert case.programmes["gp_records"].sensitivity == 0.9  # from baseline.yaml


def test_the_merge_example_says_what_loading_does(examples):
    child = sc.load(examples / "child.yaml")
    gp = child.programmes["gp_records"]
    assert child.steps == 52
    assert (gp.publicity, gp.mandate.strength, gp.mandate.oversight,
            gp.mandate.public_interest_test) == (0.6, 0.2, 0.9, 0.6)
    assert child.timeline == [Breach(step=10, programme="care_record")]


def test_every_set_example_applies(doc, examples):
    section = doc[doc.index("## 3. "):doc.index("## 4. ")]
    settings = re.findall(r"^\| `--set ([^`]+)` \|", section, re.M)
    assert len(settings) >= 10
    assert any(re.search(r"\.-?\d+\.", s) for s in settings)  # list indices are shown
    for setting in settings:
        path, _, value = setting.partition("=")
        loaded = sc.load(examples / "my_case.yaml", [setting]).model_dump(mode="json")
        assert sc.get_path(loaded, path) == yaml.safe_load(value), setting


def test_the_sample_error_is_what_validate_prints(doc, examples, monkeypatch):
    shown = re.search(r"^(scenarios/my_case\.yaml:\d+:\d+: .*)$", doc, re.M).group(1)
    folder = examples / "scenarios"
    folder.mkdir()
    shutil.copy(BASELINE, folder / "baseline.yaml")
    text = example_files(doc)["my_case.yaml"]
    assert text.count("publicity: 0.8") == 1
    (folder / "my_case.yaml").write_text(text.replace("publicity: 0.8", "publicty: 0.8"))
    monkeypatch.chdir(examples)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load("scenarios/my_case.yaml")
    assert str(err.value) == shown


# ================================================================== sim.scenario itself
def test_extends_merges_mappings_key_by_key_and_replaces_lists(scenario_dir, write_file,
                                                               monkeypatch):
    write_file("parent.yaml", """
extends: baseline.yaml
name: parent
steps: 40
population: {size: 500, segments: {sceptics: 0.5, enthusiasts: 0.5}}
params: {drift: 0.04, gain_rate: 0.1}
programmes:
  gp_records: {publicity: 0.6, mandate: {strength: 0.2, oversight: 0.3}}
  extra: {holder: nhs, recipient: cra, benefit: 0.1}
policies:
  - {step: 5, dashboard: true}
  - {step: 6, transparency: 0.9}
timeline:
  - {type: scandal, step: 3, programme: gp_records}
  - {type: breach, step: 4, programme: extra}
""", scenario_dir)
    child = write_file("sub/child.yaml", """
extends: ../parent.yaml
name: child
population: {segments: {sceptics: 0.2}}
params: {drift: 0.01}
programmes:
  gp_records: {mandate: {oversight: 0.9}}
policies:
  - {step: 7, security: 0.9, programmes: [extra]}
timeline:
  - {type: pause, step: 9, programme: care_record}
""", scenario_dir)
    monkeypatch.chdir(scenario_dir / "sub")  # extends is relative to the file, not to where one is
    s = sc.load(child)
    assert (s.name, s.steps, s.population.size) == ("child", 40, 500)
    assert s.population.segments == {"sceptics": 0.2, "enthusiasts": 0.5}
    assert (s.params.drift, s.params.gain_rate) == (0.01, 0.1)
    gp = s.programmes["gp_records"]
    assert (gp.publicity, gp.mandate.strength, gp.mandate.oversight) == (0.6, 0.2, 0.9)
    assert gp.mandate.public_interest_test == 0.6 and gp.holder == "nhs"  # from baseline.yaml
    assert list(s.programmes) == ["gp_records", "care_record", "pupil_records", "vat_register",
                                  "family_evaluation", "extra"]
    assert [p.step for p in s.policies] == [7]  # lists are replaced whole
    assert [(e.type, e.step) for e in s.timeline] == [("pause", 9)]
    assert [Path(f).name for f in sc.files(child)] == ["child.yaml", "parent.yaml",
                                                       "baseline.yaml"]


def test_null_in_a_child_replaces_the_parents_value(scenario_dir, write_file):
    write_file("parent.yaml", "extends: baseline.yaml\npopulation: {segments: {sceptics: 1}}\n",
               scenario_dir)
    child = write_file("child.yaml", "extends: parent.yaml\npopulation: {segments: null}\n",
                       scenario_dir)
    assert sc.load(scenario_dir / "parent.yaml").population.segments == {"sceptics": 1}
    assert sc.load(child).population.segments is None


def test_a_file_without_extends_keeps_only_the_programmes_it_writes(scenario_dir, write_file):
    alone = write_file("alone.yaml", "programmes:\n  only: {holder: nhs, recipient: dfe}\n",
                       scenario_dir)
    s = sc.load(alone)
    assert list(s.programmes) == ["only"] and s.programmes["only"].name == "only"
    assert len(s.agencies) == 7  # the built-in agencies


def test_extends_cycles_and_bad_extends_are_refused(scenario_dir, write_file):
    write_file("a.yaml", "extends: b.yaml\n", scenario_dir)
    write_file("b.yaml", "extends: c.yaml\n", scenario_dir)
    write_file("c.yaml", "extends: a.yaml\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(scenario_dir / "a.yaml")
    (problem,) = err.value.problems
    assert problem.path == "extends" and "a.yaml -> " in problem.message
    assert problem.message.count("a.yaml") == 2 and "b.yaml" in problem.message
    write_file("d.yaml", "name: d\nextends: 3\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(scenario_dir / "d.yaml")
    assert (err.value.problems[0].path, err.value.problems[0].line) == ("extends", 2)


def test_set_path_and_get_path_on_mappings_and_lists():
    data = {"a": {"b": 1}, "events": [{"x": 1}, {"x": 2}], "n": 5}
    sc.set_path(data, "a.b", 2)
    sc.set_path(data, "a.new", 3)  # a new leaf in an existing mapping
    sc.set_path(data, "events.1.x", 20)
    sc.set_path(data, "events.-2.x", 10)
    sc.set_path(data, "events.0", {"x": 0})
    assert data == {"a": {"b": 2, "new": 3}, "events": [{"x": 0}, {"x": 20}], "n": 5}
    assert sc.get_path(data, "events.1.x") == 20 and sc.get_path(data, "events.-1.x") == 20
    assert sc.get_path(data, "a") == {"b": 2, "new": 3}
    for dotted, missing in (("b.c", "b"), ("a.b.c", "a.b.c"), ("events.2.x", "events.2"),
                            ("events.first.x", "events.first"), ("n.m", "n.m"),
                            ("events.5", "events.5")):
        with pytest.raises(KeyError) as err:
            sc.set_path(data, dotted, 0)
        assert missing.rsplit(".", 1)[-1] in err.value.args[0], dotted
    with pytest.raises((KeyError, IndexError)):
        sc.get_path(data, "events.7.x")


def test_overrides_fill_in_default_sections_the_file_leaves_out(scenario_dir, write_file):
    # no extends: every section a default
    bare = write_file("bare.yaml", "name: bare\n", scenario_dir)
    data, _ = sc.resolve(bare)
    assert "params" not in data and "network" not in data
    sc.apply_overrides(data, ["params.drift=0.1", "network.local_ties=5"], "bare.yaml")
    assert data["params"]["drift"] == 0.1
    assert data["params"]["gain_rate"] == sc.Scenario().params.gain_rate
    assert not set(NetworkParams.model_fields) & set(data["params"])  # these live under network
    assert data["network"] == {"local_ties": 5, "long_range_ties": 1, "homophily": 0.5}
    s = sc.load(bare, ["params.drift=0.1", "network.local_ties=5",
                       "programmes.gp_records.dashboard=true", "steps=12",
                       "programmes.gp_records.consent=opt_in", "timeline=[]"])
    assert (s.params.drift, s.network.local_ties, s.steps) == (0.1, 5, 12)
    assert s.params.loss_aversion == sc.Scenario().params.loss_aversion
    gp = s.programmes["gp_records"]
    assert gp.dashboard is True and gp.consent == "opt_in"
    assert gp.sensitivity == sc.Scenario().programmes["gp_records"].sensitivity


def test_overrides_apply_in_order_and_are_validated(scenario_dir, write_file):
    path = write_file("s.yaml", "extends: baseline.yaml\n", scenario_dir)
    assert sc.load(path, ["steps=10", "steps=20"]).steps == 20
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path, ["programmes.gp_records.publicity=3"])
    assert err.value.problems[0].path == "programmes.gp_records.publicity"


@pytest.mark.parametrize(("override", "path", "says"), [
    ("params.drfit=0.1", "params.drfit", "did you mean 'drift'"),
    ("programmes.gp_records.publicty=0.5", "programmes.gp_records.publicty",
     "did you mean 'publicity'"),
    ("programmes.nope.publicity=0.5", "programmes.nope.publicity", "'programmes.nope'"),
    ("timeline.0.severity=0.5", "timeline.0.severity", "'timeline.0'"),
    ("programmes.gp_records.publicity", "programmes.gp_records.publicity", "path=value"),
    ("=0.5", "=0.5", "path=value"),
    ("steps=[1", "steps", "not valid YAML"),
])
def test_bad_overrides_name_the_path(scenario_dir, write_file, override, path, says):
    bare = write_file("bare.yaml", "extends: baseline.yaml\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(bare, [override])
    (problem,) = err.value.problems
    assert (problem.file, problem.path) == ("--set", path)
    assert says in problem.message


def test_problems_are_located_by_file_line_and_column(scenario_dir, write_file):
    write_file("parent.yaml", "extends: baseline.yaml\nsteps: 10\nparams:\n  drift: 0.9\n",
               scenario_dir)
    child = write_file("child.yaml", "extends: parent.yaml\nname: c\nprogrammes:\n"
                                     "  gp_records:\n    consent: maybe\n    secrity: 1\n",
                       scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(child)
    by_path = {p.path: p for p in err.value.problems}
    assert set(by_path) == {"params.drift", "programmes.gp_records.consent",
                            "programmes.gp_records.secrity"}
    drift = by_path["params.drift"]  # written in the parent: located there
    assert (Path(drift.file).name, drift.line, drift.column) == ("parent.yaml", 4, 3)
    consent = by_path["programmes.gp_records.consent"]
    assert (Path(consent.file).name, consent.line, consent.column) == ("child.yaml", 5, 5)
    assert "'opt_out'" in consent.message and "'maybe'" in consent.message
    assert str(consent) == (f"{consent.file}:5:5: programmes.gp_records.consent: "
                            f"{consent.message}")
    assert "did you mean 'security'" in by_path["programmes.gp_records.secrity"].message
    assert str(err.value).count("\n") == 2  # one line per problem
    # the child overriding the bad value moves the problem to the child
    write_file("fix.yaml", "extends: parent.yaml\nparams: {drift: 0.7}\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(scenario_dir / "fix.yaml")
    assert (Path(err.value.problems[0].file).name, err.value.problems[0].line) == ("fix.yaml", 2)


def test_malformed_yaml_is_located(scenario_dir, write_file):
    path = write_file("bad.yaml", "name: x\nprogrammes:\n  gp_records: {publicity: 0.5,,}\n",
                      scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    (problem,) = err.value.problems
    assert (problem.line, problem.column) == (3, 31)  # the second ','
    assert problem.message.startswith("malformed YAML")


@pytest.mark.parametrize(("text", "line", "key"), [
    ("name: a\nsteps: 3\nname: b\n", 3, "name"),
    ("extends: baseline.yaml\nprogrammes:\n  gp_records:\n    publicity: 0.1\n"
     "    severity: 0.2\n    publicity: 0.3\n", 6, "publicity"),
    ("extends: baseline.yaml\nprogrammes:\n  gp_records: {}\n  gp_records: {}\n", 4,
     "gp_records"),
])
def test_duplicate_keys_are_refused(scenario_dir, write_file, text, line, key):
    path = write_file("dup.yaml", text, scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    (problem,) = err.value.problems
    assert problem.line == line and f"duplicate key {key!r}" in problem.message


def test_yaml_tags_that_build_objects_are_refused_and_not_run(scenario_dir, write_file):
    marker = scenario_dir / "ran"
    path = write_file("tag.yaml", f'name: !!python/object/apply:os.system ["touch {marker}"]\n',
                      scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    assert "not allowed" in err.value.problems[0].message and err.value.problems[0].line == 1
    assert not marker.exists()


def test_the_dry_run_of_changes_refuses_an_invalid_policy(scenario_dir, write_file):
    path = write_file("policy.yaml", """
extends: baseline.yaml
programmes:
  gp_records: {legal_basis: consent, consent: opt_in}
policies:
  - {step: 3, dashboard: true}
  - {step: 4, consent: opt_out, programmes: [gp_records]}
""", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    (problem,) = err.value.problems
    assert problem.path.startswith("policies") and "gp_records" in problem.message
    assert "'opt_in' or 'dynamic'" in problem.message


def test_the_dry_run_applies_changes_in_step_order(scenario_dir, write_file):
    ok = """
extends: baseline.yaml
timeline:
  - {type: policy_change, step: %d, programme: care_record, changes: {consent: dynamic}}
  - {type: policy_change, step: %d, programme: care_record, changes: {legal_basis: consent}}
"""
    assert sc.load(write_file("ok.yaml", ok % (2, 3), scenario_dir)).timeline[1].step == 3
    with pytest.raises(sc.ScenarioError) as err:  # the legal basis first: invalid then
        sc.load(write_file("bad.yaml", ok % (3, 2), scenario_dir))
    (problem,) = err.value.problems
    assert problem.path == "timeline.1.changes" and problem.line == 5
    typo = write_file("typo.yaml", "extends: baseline.yaml\ntimeline:\n"
                      "  - {type: policy_change, step: 2, programme: gp_records, "
                      "changes: {secrity: 0.5}}\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(typo)
    assert "did you mean 'security'" in err.value.problems[0].message


def test_events_expand_each_policy_into_a_change_per_programme(scenario_dir, write_file):
    path = write_file("p.yaml", """
extends: baseline.yaml
steps: 30
policies:
  - {step: 10, mandate: {oversight: 0.9}, transparency: 0.8}
  - {step: 5, consent: opt_in, programmes: [gp_records, care_record]}
timeline:
  - {type: scandal, step: 10, programme: gp_records}
  - {type: breach, step: 20, programme: care_record}
""", scenario_dir)
    s = sc.load(path)
    events = s.events()
    assert [e.step for e in events] == sorted(e.step for e in events)
    early = [e for e in events if e.step == 5]
    assert early == [PolicyChange(step=5, programme=p, changes={"consent": "opt_in"})
                     for p in ("gp_records", "care_record")]
    at10 = [e for e in events if e.step == 10]
    assert isinstance(at10[0], Scandal)  # the timeline first, then the policies' changes
    assert [e.programme for e in at10[1:]] == list(s.programmes)
    assert {json.dumps(e.changes, sort_keys=True) for e in at10[1:]} == {
        json.dumps({"mandate": {"oversight": 0.9}, "transparency": 0.8}, sort_keys=True)}
    assert isinstance(events[-1], Breach) and len(events) == 2 + 5 + 2
    assert s.marks() == [(5, "policy"), (10, "policy"), (10, "scandal"), (20, "breach")]
    assert len(s.timeline) == 2  # events() does not change the scenario


def test_programme_and_agency_names_come_from_their_keys(scenario_dir, write_file):
    path = write_file("n.yaml", "extends: baseline.yaml\nagencies:\n  tech: {kind: academic}\n"
                                "programmes:\n  new_flow: {holder: tech, recipient: nhs}\n",
                      scenario_dir)
    s = sc.load(path)
    assert s.agencies["tech"].name == "tech" and s.programmes["new_flow"].name == "new_flow"


def test_replicate_seeds_are_deterministic_and_shared_with_the_runner():
    s = sc.Scenario(seed=11, replicates=4)
    first, again = s.replicate_seeds(), s.replicate_seeds()
    assert len(first) == 4
    draws = [np.random.default_rng(q).random(3) for q in first]
    assert all((np.random.default_rng(q).random(3) == d).all() for q, d in zip(again, draws,
                                                                              strict=True))
    assert len({tuple(d) for d in draws}) == 4  # replicates differ from each other
    more = sc.Scenario(seed=11, replicates=6).replicate_seeds()
    assert [q.spawn_key for q in more[:4]] == [q.spawn_key for q in first]  # a prefix
    assert all((np.random.default_rng(q).random(3) == d).all() for q, d in zip(more, draws,
                                                                              strict=False))
    other = sc.Scenario(seed=12, replicates=4).replicate_seeds()
    assert not (np.random.default_rng(other[0]).random(3) == draws[0]).all()
    tasks = runner.tasks(s, 100, 2, 4, 11)
    assert [(t.entropy, t.spawn_key) for t in tasks] == [(q.entropy, q.spawn_key) for q in first]


def test_memory_estimate_grows_linearly_with_citizens_and_parallel_runs():
    s = sc.load(BASELINE)
    for n in (1_000, 10_000, 4 * CITIZEN_AGENTS_MAX):  # both sides of the citizen-agent limit
        one, two, three = (sc.memory_estimate(s, k * n) for k in (1, 2, 3))
        assert two - one == pytest.approx(three - two, abs=2)  # constant bytes per citizen
        assert two > one
        base = 2 * one - two  # the fixed part
        assert base > 0
        assert sc.memory_estimate(s, n, parallel=3) - base == pytest.approx(3 * (one - base),
                                                                              abs=4)
    big = sc.memory_estimate(s, 90_000_000_000)
    assert big > 2**40  # tens of terabytes: refused on any machine
    fewer = s.model_copy(update={"programmes": {"gp_records": s.programmes["gp_records"]}})
    n = 10 * CITIZEN_AGENTS_MAX
    assert sc.memory_estimate(fewer, n) < sc.memory_estimate(s, n)


def test_schema_has_every_scenario_field_and_extends():
    schema = sc.schema()
    assert set(schema["properties"]) == {*sc.Scenario.model_fields, "extends"}
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # plain JSON


# ================================================================== one source per list
def test_network_fields_are_written_under_network_only(scenario_dir, write_file):
    path = write_file("n.yaml", "extends: baseline.yaml\nparams:\n  local_ties: 5\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    (problem,) = err.value.problems
    assert (problem.path, problem.line) == ("params.local_ties", 3)
    assert problem.message == "unknown field 'local_ties'; set network.local_ties instead"
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(write_file("s.yaml", "extends: baseline.yaml\n", scenario_dir),
                ["params.long_range_ties=2"])
    assert "set network.long_range_ties instead" in err.value.problems[0].message
    s = sc.load(scenario_dir / "s.yaml", ["network.long_range_ties=2"])
    assert s.network == NetworkParams(long_range_ties=2)
    assert s.model_kwargs()["network"] is s.network and s.model_kwargs()["params"] is s.params
    schema = sc.schema()
    network = NetworkParams.model_fields.keys()
    assert schema["$defs"]["NetworkParams"]["properties"].keys() == network
    assert not network & schema["$defs"]["TrustParams"]["properties"].keys()


def test_a_field_written_one_level_off_is_pointed_to(scenario_dir, write_file):
    path = write_file("m.yaml", "extends: baseline.yaml\nprogrammes:\n  gp_records:\n"
                                "    oversight: 0.9\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    assert err.value.problems[0].message == ("unknown field 'oversight'; set "
                                             "programmes.gp_records.mandate.oversight instead")
    with pytest.raises(sc.ScenarioError) as err:  # far from any field: what is allowed
        sc.load(write_file("p.yaml", "extends: baseline.yaml\npopulation: {xyz: 1}\n",
                           scenario_dir))
    assert err.value.problems[0].message == "unknown field 'xyz'; allowed here: segments, size"


def test_event_types_have_one_registry():
    tags = [cls.model_fields["type"].default for cls in events.EVENT_TYPES]
    assert tuple(tags) == events.tags() and len(set(tags)) == len(tags)
    union = typing.get_args(typing.get_args(events.Event)[0])
    assert union == events.EVENT_TYPES
    mapping = sc.schema()["properties"]["timeline"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(tags)
    assert all(events.event_class(tag) is cls for tag, cls in zip(tags, events.EVENT_TYPES,
                                                                 strict=True))
    assert events.event_class("nope") is None and events.event_class(None) is None
    for i, tag in enumerate(tags):  # every event type's fields are known to the hints
        data = {"timeline": [{"type": tag}] * (i + 1)}
        assert sc.model_at(["timeline", i], data) is events.event_class(tag)


def test_an_unknown_event_field_is_named_with_the_events_fields(scenario_dir, write_file):
    path = write_file("e.yaml", "extends: baseline.yaml\nprogrammes:\n  pause: "
                      "{holder: nhs, recipient: nhs, secrity: 0.5}\ntimeline:\n"
                      "  - {type: opt_out_deadline, step: 2, programme: pause, deadline: 5, "
                      "salince: 1}\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    by_path = {p.path: p.message for p in err.value.problems}
    # a programme named like an event type keeps its name in the path
    assert "did you mean 'security'" in by_path["programmes.pause.secrity"]
    assert "did you mean 'salience'" in by_path["timeline.0.salince"]


class _Recorder:
    """Stands in for a model: records what events ask of it."""

    def __init__(self):
        self.updates: list[tuple[str, dict]] = []
        self.scheduled: list[events.Event] = []
        self.announced: list[tuple[str, float]] = []

    def update_programme(self, name: str, **changes) -> None:
        self.updates.append((name, changes))

    def schedule(self, event) -> None:
        self.scheduled.append(event)

    def announce_choice(self, name: str, reach: float) -> None:
        self.announced.append((name, reach))


@pytest.mark.parametrize("event", [
    PolicyChange(step=2, programme="gp_records", changes={"security": 0.9}),
    events.OptOutDeadline(step=2, programme="gp_records", deadline=6, salience=0.7),
    events.Pause(step=2, programme="gp_records", duration=3),
    events.Resume(step=2, programme="gp_records"),
], ids=lambda e: e.type)
def test_what_an_event_changes_is_what_it_applies_and_what_the_dry_run_checks(event, scenario_dir,
                                                                              write_file):
    model = _Recorder()
    event.apply(model)
    assert model.updates == [("gp_records", event.programme_changes())]
    assert event.programme_changes()
    Programme(name="x", holder="nhs", recipient="nhs").changed(**event.programme_changes())
    # a file with the event loads: the dry run applied the same changes to a programme
    path = write_file("d.yaml", "extends: baseline.yaml\nprogrammes:\n  gp_records:\n"
                      "    legal_basis: consent\n    consent: opt_in\ntimeline:\n  - " +
                      json.dumps(event.model_dump(mode="json")) + "\n", scenario_dir)
    assert sc.load(path).timeline == [event]
    assert not Breach(step=2, programme="gp_records").programme_changes()


def test_the_dry_run_refuses_a_deadline_change_on_the_event(scenario_dir, write_file, monkeypatch):
    monkeypatch.setattr(events.OptOutDeadline, "programme_changes",
                        lambda self: {"deadline_salience": 2.0})
    path = write_file("d.yaml", "extends: baseline.yaml\ntimeline:\n"
                      "  - {type: opt_out_deadline, step: 2, programme: gp_records, deadline: 6}\n",
                      scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    (problem,) = err.value.problems
    assert (problem.path, problem.line) == ("timeline.0", 3)
    assert "changing gp_records: deadline_salience" in problem.message


def test_policy_levers_are_the_programme_fields_made_optional():
    for name in sc.POLICY_LEVERS:
        lever, field = sc.Policy.model_fields[name], Programme.model_fields[name]
        assert lever.default is None and lever.description == field.description, name
    assert set(sc.Policy.model_fields) == {"step", "programmes", *sc.POLICY_LEVERS}
    assert set(sc.MandatePatch.model_fields) == set(Mandate.model_fields)
    assert sc.Policy.model_fields["mandate"].annotation == sc.MandatePatch | None
    defs = sc.schema()["$defs"]

    def same(field: dict, change: dict) -> bool:
        """The change allows null and, otherwise, what the field allows."""
        kept = {k: v for k, v in field.items() if k not in ("default", "description", "title")}
        kept = {"$ref": "#/$defs/MandatePatch"} if kept == {"$ref": "#/$defs/Mandate"} else kept
        if {"type": "null"} in kept.get("anyOf", []):  # a field that may already be unset
            return change["anyOf"] == kept["anyOf"] and change["default"] is None
        return change["anyOf"] == [kept, {"type": "null"}] and change["default"] is None

    for name in sc.POLICY_LEVERS:  # the same range and values in the schema, or null
        assert same(defs["Programme"]["properties"][name], defs["Policy"]["properties"][name])
    for name, field in defs["Mandate"]["properties"].items():
        assert same(field, defs["MandatePatch"]["properties"][name]), name
    with pytest.raises(ValueError, match="less than or equal to 1"):
        sc.Policy(security=1.5)
    with pytest.raises(ValueError, match="extra"):
        sc.Policy(mandate={"strenght": 0.2})
    policy = sc.Policy(step=3, consent="opt_in", mandate={"oversight": 0.9})
    assert policy.changes() == {"consent": "opt_in", "mandate": {"oversight": 0.9}}
    assert sc.Policy(mandate={}).changes() == {}


def test_the_world_is_checked_in_one_place(scenario_dir, write_file):
    nhs = AgencySpec(name="nhs", kind="health")
    bad = [Programme(name="a", holder="nsh", recipient="nhs"),
           Programme(name="a", holder="nhs", recipient="nhs")]
    found = world.problems([nhs, nhs, AgencySpec(name="general", kind="health")], bad,
                           NHS_SEGMENTS)
    assert found == [
        ("agencies", "duplicate agency names: nhs"),
        ("programmes", "duplicate programme names: a"),
        ("agencies.general", "'general' is reserved for general trust; rename that agency"),
        ("programmes.a.holder", "'nsh' is not an agency (did you mean 'nhs'?); agencies: "
                                "general, nhs"),
    ]
    assert world.problems([nhs], bad[1:], NHS_SEGMENTS) == []
    path = write_file("w.yaml", "extends: baseline.yaml\nprogrammes:\n  gp_records:\n"
                      "    recipient: nsh\nagencies:\n  general: {kind: health}\n", scenario_dir)
    with pytest.raises(sc.ScenarioError) as err:
        sc.load(path)
    by_path = {p.path: p for p in err.value.problems}
    assert set(by_path) == {"agencies.general", "programmes.gp_records.recipient"}
    assert by_path["programmes.gp_records.recipient"].line == 4
    assert "did you mean 'nhs'" in by_path["programmes.gp_records.recipient"].message


def test_the_scenario_modules_import_no_circle():
    """Each module of the package imports only those listed before it."""
    order = ["bundled", "spec", "paths", "validation", "loading", "resources"]
    folder = ROOT / "sim" / "scenario"
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted([*order, "__init__"])
    for i, name in enumerate(order):
        text = (folder / f"{name}.py").read_text(encoding="utf-8")
        used = set(re.findall(r"^from sim\.scenario\.(\w+) import", text, re.M))
        assert used <= set(order[:i]), (name, used - set(order[:i]))
