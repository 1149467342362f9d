"""Problems with a scenario, located in its files, and the checks beyond the schema.

Every problem becomes a :class:`Problem` naming the file, the line, the field path and what is
allowed, collected in one :class:`ScenarioError`. After the schema, the world is checked
(``sim.world``), then the references of events and policies, then a dry run applies every
programme change in step order, so a bad change fails when the file is read, not mid-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim import events, world
from sim.programmes import Programme
from sim.scenario.paths import unknown_key_hint
from sim.scenario.spec import KEYED_SECTIONS, Scenario
from sim.world import suggest


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


@dataclass
class Source:
    """A file read, with its YAML node tree (to find where a path is written)."""

    path: Path
    node: yaml.Node | None


def locate(problem: Problem, sources: Sequence[Source], overridden: Sequence[str] = ()) -> Problem:
    """Add the file, line and column where ``problem.path`` is written (child files first; the
    nearest written parent if the field itself is not). A path set with ``--set`` is blamed on
    ``--set``."""
    for dotted in overridden:
        if problem.path == dotted or problem.path.startswith(dotted + "."):
            return Problem("--set", problem.path, problem.message)
    parts = [p for p in problem.path.split(".") if p] if problem.path else []
    best: tuple[int, Source, yaml.Mark] | None = None
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
    tags = set(events.tags())
    raw = list(err["loc"])
    # pydantic puts an event's type tag after its list index: timeline.0.breach.severity
    loc = [str(x) for i, x in enumerate(raw)
           if not (x in tags and i > 0 and isinstance(raw[i - 1], int))]
    path = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return path, f"unknown field {loc[-1]!r}{unknown_key_hint(loc[:-1], loc[-1], data)}"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if kind not in ("missing",) and "input" in err and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return path, message


def _check_references(s: Scenario) -> list[tuple[str, str]]:
    """What the schema cannot express: names and keys, the world, events' and policies'
    programmes; then the dry run."""
    problems = []
    for section in KEYED_SECTIONS:
        for key, entry in getattr(s, section).items():
            if entry.name != key:
                problems.append((f"{section}.{key}.name",
                                 f"must equal its key {key!r} (or be left out), got "
                                 f"{entry.name!r}"))
    problems += world.problems(list(s.agencies.values()), list(s.programmes.values()),
                               s.segments())
    names = set(s.programmes)
    for i, event in enumerate(s.timeline):
        if event.programme not in names:
            hint = suggest(event.programme, names)
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
                                 f"{name!r} is not a programme{suggest(name, names)}"))
    return problems or _dry_run(s)


def _dry_run(s: Scenario) -> list[tuple[str, str]]:
    """Apply every programme change in step order, so a bad change fails now, not mid-run."""
    changes: list[tuple[int, str, str, dict[str, Any]]] = []  # step, where, programme, changes
    for i, event in enumerate(s.timeline):
        change = event.programme_changes()
        if change:  # blamed on the changes the file writes out, else on the event
            where = f"timeline.{i}" + (".changes" if "changes" in type(event).model_fields else "")
            changes.append((event.step, where, event.programme, change))
    for i, policy in enumerate(s.policies):
        for name in policy.programmes or list(s.programmes):
            changes.append((policy.step, f"policies.{i}", name, policy.changes()))
    problems = []
    current = dict(s.programmes)
    for _, where, name, change in sorted(changes, key=lambda c: c[0]):
        try:
            current[name] = current[name].changed_in_run(**change)
        except ValidationError as err:
            for e in err.errors():
                field = ".".join(str(x) for x in e["loc"])
                if e["type"] == "extra_forbidden":
                    allowed = set(Programme.model_fields) - {"name"}
                    message = f"unknown programme field {field!r}{suggest(field, allowed)}"
                else:
                    message = e["msg"].removeprefix("Value error, ")
                    if field:
                        message = f"{field}: {message}"
                problems.append((where, f"changing {name}: {message}"))
        except (TypeError, ValueError) as err:
            problems.append((where, f"changing {name}: {err}"))
    return problems


def validate(data: dict[str, Any], sources: Sequence[Source],
             overridden: Sequence[str] = ()) -> Scenario:
    """Validate raw (merged) scenario data; raise ScenarioError listing every problem."""
    file = str(sources[0].path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            path, message = _describe(e, data)
            problems.append(locate(Problem(file, path, message), sources, overridden))
        raise ScenarioError(problems) from None
    problems = [locate(Problem(file, p, m), sources, overridden)
                for p, m in _check_references(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario
