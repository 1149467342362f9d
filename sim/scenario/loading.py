"""Reading scenario files: strict YAML, ``extends`` chains and ``--set`` overrides.

Loading is strict: safe YAML only (no tags that build Python objects), no duplicate keys. A file
can ``extends:`` another and override parts of it: mappings merge key by key, anything else (lists
too) is replaced. ``--set path=value`` overrides apply to the merged data before validation.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.bundled import is_bare, names
from sim.scenario.paths import allowed_keys, parse_key, set_path, unknown_key_hint
from sim.scenario.spec import Scenario
from sim.scenario.validation import Problem, ScenarioError, Source, locate, validate
from sim.world import suggest

#: How deeply mappings and lists may nest in a scenario file (the deepest real ones nest about six
#: levels). YAML is parsed recursively, so a file of thousands of nested brackets would otherwise
#: end in a RecursionError instead of a message naming the file.
MAX_DEPTH = 50

_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
         yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _too_deep(text: str, name: str) -> Problem | None:
    """A problem if ``text`` nests more than MAX_DEPTH levels, found by scanning its tokens
    (the scanner does not recurse); malformed YAML is left for the parser to report."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = token.start_mark
                    return Problem(name, "", f"nested more than {MAX_DEPTH} levels deep; a "
                                   "scenario's mappings and lists nest a few levels at most",
                                   mark.line + 1, mark.column + 1)
            elif isinstance(token, _CLOSE):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


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


def read(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The mapping a YAML file holds, and its node tree; problems as ScenarioError."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = ""
        if is_bare(path):  # meant a shipped scenario?
            shipped = names()
            hint = (f"; nor is it a shipped scenario{suggest(path.name, shipped)}: "
                    f"{', '.join(shipped)}")
        raise ScenarioError([Problem(name, "", f"file not found{hint}")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(name, "", "is a folder, not a scenario file")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(name, "", f"cannot be read: {err}")]) from None
    deep = _too_deep(text, name)
    if deep:
        raise ScenarioError([deep])
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


def resolve(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Source]]:
    """Read ``path`` and everything it extends; the child's values win."""
    path = Path(os.path.normpath(path))
    if path.resolve() in [p.resolve() for p in chain]:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError([Problem(str(chain[-1]), "extends", f"extends cycle: {cycle}; a "
                                     "scenario cannot inherit from itself")])
    data, node = read(path)
    sources = [Source(path, node)]
    parent = data.pop("extends", None)
    if parent is None:
        return data, sources
    if not isinstance(parent, str) or not parent:
        raise ScenarioError([locate(Problem(str(path), "extends",
                                            "must be the path of another scenario file"),
                                    sources)])
    base_path = path.parent / parent
    try:
        base, base_sources = resolve(base_path, (*chain, path))
    except ScenarioError as err:
        if not base_path.exists():
            raise ScenarioError([locate(Problem(
                str(path), "extends", f"{parent!r}: file not found (looked for {base_path})"),
                sources)]) from None
        # problems reported against this file (an extends cycle) get their line here
        raise ScenarioError([locate(p, sources) if p.file == str(path) and p.line is None
                             else p for p in err.problems]) from None
    return _merge(base, data), sources + base_sources


# -------------------------------------------------------------------------------- overrides
def _default_tree() -> dict[str, Any]:
    """The resolved defaults as plain data (for paths not written in the file)."""
    return Scenario().model_dump(mode="json")


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
            missing = str(err.args[0])
            parent, _, key = missing.rpartition(".")
            hint = unknown_key_hint(parent.split(".") if parent else [], key, data)
            problems.append(Problem("--set", dotted, f"no such field in {file}: {missing!r} "
                                    f"does not exist{hint}"))
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
                index = parse_key(node, part)
            except KeyError:
                raise KeyError(prefix) from None
            if not -len(node) <= index < len(node):
                raise KeyError(prefix)
            node, default = node[index], None
        else:
            raise KeyError(".".join(parts[: parts.index(part) + 1]))
    if isinstance(node, dict) and parts[-1] not in node:
        allowed = allowed_keys(parts[:-1], data)
        if allowed is not None and parts[-1] not in allowed:
            raise KeyError(dotted)


# ---------------------------------------------------------------------------------- entry
def load(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read, resolve ``extends``, apply ``--set`` overrides and validate a scenario file."""
    data, sources = resolve(Path(path))
    if overrides:
        apply_overrides(data, overrides, str(path))
    overridden = [item.partition("=")[0].strip() for item in overrides]
    return validate(data, sources, overridden)


def files(path: str | os.PathLike[str]) -> list[str]:
    """The file and every file it extends, child first (for provenance)."""
    return [str(source.path) for source in resolve(Path(path))[1]]
