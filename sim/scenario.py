"""Scenario files: a situation described in YAML, validated, and turned into models.

A scenario names the world (agencies and sharing programmes), the population, the behavioural
parameters, policies and a timeline of events, and how to run it (steps, replicates, seed). It
can ``extends:`` another file and override parts of it; any value can be addressed by a dotted
path such as ``programmes.gp_records.publicity`` (``trustsim run --set``, sweeps).

Loading is strict: safe YAML only (no tags that build Python objects), no duplicate keys, no
unknown keys, every value type- and range-checked. Every problem becomes a :class:`Problem` naming
the file, the line, the field path and what is allowed, collected in one :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import baseline
from sim.agencies import AgencySpec
from sim.events import Event, PolicyChange
from sim.model import TrustModel
from sim.params import TrustParams
from sim.programmes import Barriers, Consent, Mandate, Programme
from sim.segments import NHS_SEGMENTS, Segment

NETWORK_FIELDS = ("local_ties", "long_range_ties")
_TP = TrustParams()


class PopulationSpec(BaseModel):
    """Who lives in the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=10_000, ge=2, description="number of citizens (trustsim run refuses "
                      "a population too large for the machine's memory)")
    segments: dict[str, float] | None = Field(
        default=None,
        description="share of each NHS attitude segment (by key; normalised); unset: the survey's",
    )

    @model_validator(mode="after")
    def _known_segments(self) -> PopulationSpec:
        if self.segments is not None:
            known = {s.key for s in NHS_SEGMENTS}
            for key, share in self.segments.items():
                if key not in known:
                    raise ValueError(f"unknown segment {key!r}{_suggest(key, known)}; "
                                     f"segments: {', '.join(sorted(known))}")
                if not 0 <= share <= 1:
                    raise ValueError(f"share of {key!r} must be in [0, 1], got {share}")
            if sum(self.segments.values()) <= 0:
                raise ValueError("segment shares must not all be zero")
        return self


class NetworkSpec(BaseModel):
    """The static citizen network (households are always there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_ties: int = Field(default=_TP.local_ties, ge=0, le=50,
                            description=TrustParams.model_fields["local_ties"].description)
    long_range_ties: int = Field(default=_TP.long_range_ties, ge=0, le=20,
                                 description=TrustParams.model_fields["long_range_ties"].description)


class MandatePatch(BaseModel):
    """Mandate fields to change; unset fields keep their value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strength: float | None = Field(default=None, ge=0, le=1,
                                   description=Mandate.model_fields["strength"].description)
    public_interest_test: float | None = Field(
        default=None, ge=0, le=1,
        description=Mandate.model_fields["public_interest_test"].description)
    oversight: float | None = Field(default=None, ge=0, le=1,
                                    description=Mandate.model_fields["oversight"].description)


class Policy(BaseModel):
    """A policy lever applied to programmes from a given step (a policy change for each).

    The programmes present at step 0 are the status quo that survey trust reflects, so a lever
    shows its effect when it is applied during the run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int = Field(default=1, ge=1, description="step from which the policy applies")
    programmes: list[str] | None = Field(
        default=None, description="programmes it applies to; unset: every programme")
    consent: Consent | None = Field(default=None, description="consent regime")
    dashboard: bool | None = Field(default=None, description="citizen dashboard (data tracker)")
    mandate: MandatePatch | None = Field(default=None, description="public-interest mandate")
    security: float | None = Field(default=None, ge=0, le=1, description="security of the flow")
    transparency: float | None = Field(default=None, ge=0, le=1, description="transparency")

    def changes(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"step", "programmes"}, exclude_none=True)
        if "mandate" in out and not out["mandate"]:
            del out["mandate"]
        return out


class Scenario(BaseModel):
    """A situation to simulate: the world, the population, parameters, policies and timeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="scenario", description="short name, used in outputs")
    description: str = Field(default="", description="what the scenario represents")
    seed: int = Field(default=20200213, ge=0, description="seed of all randomness")
    steps: int = Field(default=156, ge=1, le=100_000, description="weeks to simulate")
    replicates: int = Field(default=5, ge=1, le=100_000, description="independent runs")
    population: PopulationSpec = Field(default_factory=PopulationSpec, description="citizens")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="citizen network")
    params: TrustParams = Field(default_factory=TrustParams,
                                description="behavioural parameters (docs/model.md)")
    agencies: dict[str, AgencySpec] = Field(
        default_factory=lambda: {a.name: a for a in baseline.AGENCIES},
        description="agencies by name")
    programmes: dict[str, Programme] = Field(
        default_factory=lambda: {p.name: p for p in baseline.PROGRAMMES},
        description="sharing programmes by name")
    policies: list[Policy] = Field(default_factory=list, description="policy levers over time")
    timeline: list[Event] = Field(default_factory=list, description="scheduled events")

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        """``programmes: {gp_records: {...}}`` gives the programme its name (same for agencies)."""
        if isinstance(data, dict):
            data = dict(data)
            for section in ("agencies", "programmes"):
                entries = data.get(section)
                if isinstance(entries, dict):
                    data[section] = {
                        key: ({"name": key, **value} if isinstance(value, dict) else value)
                        for key, value in entries.items()}
        return data

    def marks(self) -> list[tuple[int, str]]:
        """(step, label) of every event and policy, for figures."""
        out = [(e.step, e.type.replace("_", " ")) for e in self.timeline]
        out += [(p.step, "policy") for p in self.policies]
        return sorted(out)

    def events(self) -> list[Event]:
        """The timeline plus one policy change per policy and programme, in step order."""
        out: list[Event] = list(self.timeline)
        for policy in self.policies:
            changes = policy.changes()
            for name in policy.programmes or list(self.programmes):
                out.append(PolicyChange(step=policy.step, programme=name, changes=changes))
        return sorted(out, key=lambda e: e.step)

    def segments(self) -> tuple[Segment, ...]:
        shares = self.population.segments
        if shares is None:
            return NHS_SEGMENTS
        return tuple(s.model_copy(update={"share": shares.get(s.key, 0.0)}) for s in NHS_SEGMENTS
                     if shares.get(s.key, 0.0) > 0)

    def model_params(self) -> TrustParams:
        return self.params.model_copy(update=self.network.model_dump())

    def model_kwargs(self) -> dict[str, Any]:
        """The ``TrustModel`` arguments of this scenario (all but the population size)."""
        return {"agencies": list(self.agencies.values()),
                "programmes": list(self.programmes.values()), "segments": self.segments(),
                "events": self.events(), "params": self.model_params(), "n_steps": self.steps,
                "rng": self.seed}

    def build(self, rng: np.random.SeedSequence | int | None = None, n_citizens: int | None = None,
              citizen_agents: bool | None = None) -> TrustModel:
        """A fresh model of this scenario."""
        kwargs = self.model_kwargs()
        if rng is not None:
            kwargs["rng"] = rng
        return TrustModel(n_citizens or self.population.size, citizen_agents=citizen_agents,
                          **kwargs)

    def replicate_seeds(self) -> list[np.random.SeedSequence]:
        """One seed per replicate, spawned from ``seed``: the same whatever runs them."""
        return np.random.SeedSequence(self.seed).spawn(self.replicates)

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (canonical JSON)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as possible."""

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}:{self.column}" if self.line else "")
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ScenarioError(Exception):
    """Bad scenario input; ``str()`` gives one paragraph per problem."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------------------- YAML reading
class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that also refuses duplicate keys."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep=False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _mapping_without_duplicates)


@dataclass
class _Source:
    path: Path
    node: yaml.Node | None


def _read(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(name, "", "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(name, "", "is a folder, not a scenario file")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(name, "", f"cannot be read: {err}")]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = str(err.problem or err)
        if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
            problem = (f"{problem}; YAML tags that build objects are not allowed in scenario "
                       "files (plain mappings, lists, numbers, strings and booleans only)")
        raise ScenarioError([Problem(name, "", f"malformed YAML: {problem}",
                                     mark.line + 1 if mark else None,
                                     mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(name, "", f"malformed YAML: {err}")]) from None
    if data is None:
        raise ScenarioError([Problem(name, "", "the file is empty; a scenario is a mapping such "
                                               "as 'name: my_case' (see docs/scenarios.md)")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(name, "", "a scenario must be a mapping of fields "
                                               f"(name, steps, programmes, ...), not a "
                                               f"{type(data).__name__}", 1, 1)])
    return data, node


def _merge(base: Any, override: Any) -> Any:
    """Deep merge: mappings merge key by key; anything else (lists too) is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return override


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[_Source]]:
    """Read ``path`` and everything it extends; the child's values win."""
    path = Path(os.path.normpath(path))
    if path.resolve() in [p.resolve() for p in chain]:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError([Problem(str(chain[-1]), "extends", f"extends cycle: {cycle}; a "
                                     "scenario cannot inherit from itself")])
    data, node = _read(path)
    sources = [_Source(path, node)]
    parent = data.pop("extends", None)
    if parent is None:
        return data, sources
    if not isinstance(parent, str) or not parent:
        raise ScenarioError([_locate(Problem(str(path), "extends",
                                             "must be the path of another scenario file"),
                                     sources)])
    base_path = path.parent / parent
    try:
        base, base_sources = _resolve(base_path, (*chain, path))
    except ScenarioError as err:
        if not base_path.exists():
            raise ScenarioError([_locate(Problem(
                str(path), "extends", f"{parent!r}: file not found (looked for {base_path})"),
                sources)]) from None
        # problems reported against this file (an extends cycle) get their line here
        raise ScenarioError([_locate(p, sources) if p.file == str(path) and p.line is None
                             else p for p in err.problems]) from None
    return _merge(base, data), sources + base_sources


# ------------------------------------------------------------------------------ dotted paths
def _parse_key(container: Any, key: str) -> Any:
    if isinstance(container, list):
        if not key.lstrip("-").isdigit():
            raise KeyError(key)  # callers report the dotted path up to here
        return int(key)
    return key


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested mappings/lists; the parent must exist (the leaf may be new only
    if the schema knows it, which validation then checks)."""
    parts = dotted.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        try:
            node = node[_parse_key(node, part)]
        except (KeyError, IndexError, TypeError):
            raise KeyError(".".join(parts[: depth + 1])) from None
        if node is None:
            raise KeyError(".".join(parts[: depth + 1]))
    if not isinstance(node, dict | list):
        raise KeyError(dotted)
    try:
        leaf = _parse_key(node, parts[-1])
    except KeyError:
        raise KeyError(dotted) from None
    if isinstance(node, list) and not -len(node) <= leaf < len(node):
        raise KeyError(dotted)
    node[leaf] = value


def get_path(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        node = node[_parse_key(node, part)]
    return node


def _default_tree() -> dict[str, Any]:
    """The resolved defaults as plain data (for paths not written in the file)."""
    tree = Scenario().model_dump(mode="json")
    for field in NETWORK_FIELDS:  # these are written under network:
        tree["params"].pop(field)
    return tree


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], file: str) -> None:
    """Apply ``path=value`` overrides (values parsed as YAML scalars) to raw scenario data."""
    problems = []
    for item in overrides:
        dotted, sep, text = item.partition("=")
        dotted = dotted.strip()
        if not sep or not dotted:
            problems.append(Problem("--set", item, "expected path=value, e.g. "
                                    "programmes.gp_records.publicity=0.8"))
            continue
        try:
            value = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
        except yaml.YAMLError as err:
            reason = getattr(err, "problem", None) or str(err).splitlines()[0]
            problems.append(Problem("--set", dotted, f"value {text!r} is not valid YAML: "
                                    f"{reason}"))
            continue
        try:
            _ensure_parents(data, dotted)
            set_path(data, dotted, value)
        except (KeyError, IndexError, TypeError) as err:
            problems.append(Problem("--set", dotted, f"no such field in {file}: {err.args[0]!r} "
                                    f"does not exist{_path_hint(data, str(err.args[0]))}"))
    if problems:
        raise ScenarioError(problems)


def _ensure_parents(data: dict[str, Any], dotted: str) -> None:
    """Write out the defaults of sections the file leaves out, so ``params.drift`` or
    ``programmes.gp_records.publicity`` can be set on a file that relies on them; refuse a leaf
    the schema does not know."""
    parts = dotted.split(".")
    node: Any = data
    default: Any = _default_tree()
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node and isinstance(default, dict) and part in default:
                node[part] = copy.deepcopy(default[part])
            if part not in node:
                raise KeyError(".".join(parts[: parts.index(part) + 1]))
            node, default = node[part], default.get(part) if isinstance(default, dict) else None
        elif isinstance(node, list):
            prefix = ".".join(parts[: parts.index(part) + 1])
            try:
                index = _parse_key(node, part)
            except KeyError:
                raise KeyError(prefix) from None
            if not -len(node) <= index < len(node):
                raise KeyError(prefix)
            node, default = node[index], None
        else:
            raise KeyError(".".join(parts[: parts.index(part) + 1]))
    if isinstance(node, dict) and parts[-1] not in node:
        allowed = _allowed_keys(parts[:-1], data)
        if allowed is not None and parts[-1] not in allowed:
            raise KeyError(dotted)


def _path_hint(data: dict[str, Any], missing: str) -> str:
    parts = missing.split(".")
    allowed = _allowed_keys(parts[:-1], data)
    if allowed is None:
        return ""
    return _suggest(parts[-1], allowed) or f" (allowed here: {', '.join(sorted(allowed))})"


# ------------------------------------------------------------------------------- validation
def _model_at(loc: Sequence[str | int], data: Any) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for allowed-key hints)."""
    from sim import events

    loc = list(loc)
    if not loc:
        return Scenario
    head, rest = loc[0], loc[1:]
    simple = {"population": PopulationSpec, "network": NetworkSpec, "params": TrustParams}
    if head in simple and not rest:
        return simple[head]
    if head == "agencies" and len(rest) == 1:
        return AgencySpec
    if head == "programmes" and len(rest) == 1:
        return Programme
    if head == "programmes" and len(rest) == 2:
        return {"mandate": Mandate, "barriers": Barriers}.get(str(rest[1]))
    if head == "policies" and len(rest) == 1:
        return Policy
    if head == "policies" and len(rest) == 2 and rest[1] == "mandate":
        return MandatePatch
    if head == "timeline" and len(rest) == 1:
        try:
            kind = get_path(data, f"timeline.{rest[0]}").get("type")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        by_type = {cls.model_fields["type"].default: cls for cls in (
            events.Breach, events.Scandal, events.PolicyChange, events.Campaign,
            events.OptOutDeadline, events.Pause, events.Resume)}
        return by_type.get(kind)
    return None


def _allowed_keys(loc: Sequence[str | int], data: Any) -> set[str] | None:
    model = _model_at(loc, data)
    if model is None:
        return None
    keys = set(model.model_fields)
    if model in (AgencySpec, Programme):
        keys.discard("name")
    return keys


def _locate(problem: Problem, sources: Sequence[_Source],
            overridden: Sequence[str] = ()) -> Problem:
    """Add the file, line and column where ``problem.path`` is written (child files first; the
    nearest written parent if the field itself is not). A path set with ``--set`` is blamed on
    ``--set``."""
    for dotted in overridden:
        if problem.path == dotted or problem.path.startswith(dotted + "."):
            return Problem("--set", problem.path, problem.message)
    parts = [p for p in problem.path.split(".") if p] if problem.path else []
    best: tuple[int, _Source, yaml.Mark] | None = None
    for source in sources:
        node = source.node
        if node is None:
            continue
        mark, depth = node.start_mark, 0
        for part in parts:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        child, mark = value_node, key_node.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and part.lstrip("-").isdigit():
                index = int(part)
                if -len(node.value) <= index < len(node.value):
                    child = node.value[index]
                    mark = child.start_mark
            if child is None:
                break
            node, depth = child, depth + 1
        if depth == len(parts):
            best = (depth, source, mark)
            break
        if depth > 0 and (best is None or depth > best[0]):
            best = (depth, source, mark)
    if best is None:
        return Problem(str(sources[0].path), problem.path, problem.message)
    _, source, mark = best
    return Problem(str(source.path), problem.path, problem.message, mark.line + 1,
                   mark.column + 1)


def _describe(err: dict[str, Any], data: Any) -> tuple[str, str]:
    """(dotted path, message) for one pydantic error, with hints."""
    loc = [str(x) for x in err["loc"] if not (isinstance(x, str) and x in _UNION_TAGS)]
    path = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], data) or set()
        hint = _suggest(loc[-1], allowed) or (
            f"; allowed here: {', '.join(sorted(allowed))}" if allowed else "")
        return path, f"unknown field {loc[-1]!r}{hint}"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if kind not in ("missing",) and "input" in err and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return path, message


_UNION_TAGS = {"breach", "scandal", "policy_change", "campaign", "opt_out_deadline", "pause",
               "resume"}


def _check_references(s: Scenario) -> list[tuple[str, str]]:
    """Cross-references the schema cannot express: agencies, programmes, policy changes."""
    problems = []
    for section in ("agencies", "programmes"):
        for key, entry in getattr(s, section).items():
            if entry.name != key:
                problems.append((f"{section}.{key}.name",
                                 f"must equal its key {key!r} (or be left out), got "
                                 f"{entry.name!r}"))
    agencies = set(s.agencies)
    if "general" in agencies:
        problems.append(("agencies.general", "'general' is reserved for general trust"))
    for name, prog in s.programmes.items():
        for role in ("holder", "recipient"):
            value = getattr(prog, role)
            if value not in agencies:
                problems.append((f"programmes.{name}.{role}",
                                 f"{value!r} is not an agency{_suggest(value, agencies)}; "
                                 f"agencies: {', '.join(sorted(agencies))}"))
    names = set(s.programmes)
    for i, event in enumerate(s.timeline):
        if event.programme not in names:
            hint = _suggest(event.programme, names)
            problems.append((f"timeline.{i}.programme",
                             f"{event.programme!r} is not a programme{hint}; "
                             f"programmes: {', '.join(sorted(names))}"))
        if event.step > s.steps:
            problems.append((f"timeline.{i}.step", f"step {event.step} is after the last step "
                             f"({s.steps}); the event would never happen"))
    for i, policy in enumerate(s.policies):
        for name in policy.programmes or []:
            if name not in names:
                problems.append((f"policies.{i}.programmes",
                                 f"{name!r} is not a programme{_suggest(name, names)}"))
    return problems or _dry_run(s)


def _dry_run(s: Scenario) -> list[tuple[str, str]]:
    """Apply every programme change in step order, so a bad change fails now, not mid-run."""
    changes: list[tuple[int, str, str, dict[str, Any]]] = []  # step, where, programme, changes
    for i, event in enumerate(s.timeline):
        if event.type == "policy_change":
            changes.append((event.step, f"timeline.{i}.changes", event.programme, event.changes))
        elif event.type == "opt_out_deadline":
            changes.append((event.step, f"timeline.{i}", event.programme,
                            {"deadline": event.deadline, "deadline_salience": event.salience}))
    for i, policy in enumerate(s.policies):
        for name in policy.programmes or list(s.programmes):
            changes.append((policy.step, f"policies.{i}", name, policy.changes()))
    problems = []
    current = dict(s.programmes)
    for _, where, name, change in sorted(changes, key=lambda c: c[0]):
        try:
            current[name] = current[name].changed(**change)
        except ValidationError as err:
            for e in err.errors():
                field = ".".join(str(x) for x in e["loc"])
                if e["type"] == "extra_forbidden":
                    allowed = set(Programme.model_fields) - {"name"}
                    message = f"unknown programme field {field!r}{_suggest(field, allowed)}"
                else:
                    message = e["msg"].removeprefix("Value error, ")
                    if field:
                        message = f"{field}: {message}"
                problems.append((where, f"changing {name}: {message}"))
        except (TypeError, ValueError) as err:
            problems.append((where, f"changing {name}: {err}"))
    return problems


def validate(data: dict[str, Any], sources: Sequence[_Source],
             overridden: Sequence[str] = ()) -> Scenario:
    """Validate raw (merged) scenario data; raise ScenarioError listing every problem."""
    file = str(sources[0].path)
    if isinstance(data.get("params"), dict):
        present = [f for f in NETWORK_FIELDS if f in data["params"]]
        if present:
            raise ScenarioError([_locate(Problem(file, f"params.{present[0]}",
                                                 f"set network.{present[0]} instead"),
                                         sources, overridden)])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            path, message = _describe(e, data)
            problems.append(_locate(Problem(file, path, message), sources, overridden))
        raise ScenarioError(problems) from None
    problems = [_locate(Problem(file, p, m), sources, overridden)
                for p, m in _check_references(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def load(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read, resolve ``extends``, apply ``--set`` overrides and validate a scenario file."""
    data, sources = _resolve(Path(path))
    if overrides:
        apply_overrides(data, overrides, str(path))
    overridden = [item.partition("=")[0].strip() for item in overrides]
    return validate(data, sources, overridden)


def files(path: str | os.PathLike[str]) -> list[str]:
    """The file and every file it extends, child first (for provenance)."""
    return [str(source.path) for source in _resolve(Path(path))[1]]


def schema() -> dict[str, Any]:
    """JSON Schema of the scenario format."""
    out = Scenario.model_json_schema()
    out["properties"]["extends"] = {
        "type": "string", "description": "path of a scenario file this one inherits and overrides"}
    defs = out["$defs"]
    for field in NETWORK_FIELDS:  # written under network:, refused under params:
        defs["TrustParams"]["properties"].pop(field)
    for name in ("Programme", "AgencySpec"):  # the name is the entry's key
        defs[name]["required"] = [r for r in defs[name].get("required", []) if r != "name"]
        defs[name]["properties"]["name"]["description"] += " (defaults to the entry's key)"
    return out


def memory_estimate(scenario: Scenario, n_citizens: int | None = None,
                    parallel: int = 1) -> int:
    """Bytes a run is expected to need at its peak, for ``parallel`` runs at once."""
    n = n_citizens or scenario.population.size
    per_citizen = TrustModel.bytes_per_citizen(len(scenario.agencies) + 1,
                                               len(scenario.programmes))  # runs build no views
    return parallel * int(n * per_citizen) + 300 * 2**20


def available_memory() -> int | None:
    """Memory available to new processes now (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None

