"""Dotted paths into scenario data, and which model validates the value at a path.

``--set``, sweeps and error hints address any value by a path such as
``programmes.gp_records.publicity`` or ``timeline.0.severity``. The model at a path is found by
walking the field types down from :class:`Scenario` (an event by its ``type`` tag), so a new
section, field or event type needs no entry here.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from sim import events
from sim.scenario.spec import Scenario
from sim.world import suggest


def parse_key(container: Any, key: str) -> Any:
    """``key`` as an index into ``container``: an int for a list (KeyError if not a number)."""
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
            node = node[parse_key(node, part)]
        except (KeyError, IndexError, TypeError):
            raise KeyError(".".join(parts[: depth + 1])) from None
        if node is None:
            raise KeyError(".".join(parts[: depth + 1]))
    if not isinstance(node, dict | list):
        raise KeyError(dotted)
    try:
        leaf = parse_key(node, parts[-1])
    except KeyError:
        raise KeyError(dotted) from None
    if isinstance(node, list) and not -len(node) <= leaf < len(node):
        raise KeyError(dotted)
    node[leaf] = value


def get_path(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        node = node[parse_key(node, part)]
    return node


# --------------------------------------------------------------------------- the schema at a path
def _unwrap(annotation: Any) -> Any:
    """``X`` for ``X | None``."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)


def _walk(loc: Sequence[str | int], data: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model of the mapping at ``loc``, and whether it is an entry of a mapping by name."""
    target: Any = Scenario
    keyed = False
    for depth, part in enumerate(loc):
        keyed = False
        if _is_model(target):
            field = target.model_fields.get(str(part))
            if field is None:
                return None, False
            target = _unwrap(field.annotation)
        elif get_origin(target) in (dict, list):
            keyed = get_origin(target) is dict
            target = _unwrap(get_args(target)[-1])
            if target == events.Event:  # the entry's type tag says which event it is
                try:
                    tag = get_path(data, ".".join(map(str, loc[: depth + 1]))).get("type")
                except (KeyError, IndexError, TypeError, AttributeError):
                    return None, False
                target = events.event_class(tag)
        else:
            return None, False
    return (target, keyed) if _is_model(target) else (None, False)


def model_at(loc: Sequence[str | int], data: Any) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for allowed-key hints)."""
    return _walk(loc, data)[0]


def allowed_keys(loc: Sequence[str | int], data: Any) -> set[str] | None:
    """The keys a file may write in the mapping at ``loc``; None if it is not a fixed set."""
    model, keyed = _walk(loc, data)
    if model is None:
        return None
    return set(model.model_fields) - ({"name"} if keyed else set())  # the key gives the name


def _sections(model: type[BaseModel] | None) -> Iterator[tuple[str, type[BaseModel]]]:
    for name, field in (model.model_fields.items() if model else ()):
        if _is_model(_unwrap(field.annotation)):
            yield name, _unwrap(field.annotation)


def moved(loc: Sequence[str | int], key: str, data: Any) -> str | None:
    """The path where ``key``, unknown in the mapping at ``loc``, is a field next door: in a
    sibling section (``params.local_ties`` is ``network.local_ties``) or a subsection
    (``programmes.x.strength`` is ``programmes.x.mandate.strength``); None if not exactly one."""
    loc = [str(x) for x in loc]
    found = []
    if loc:
        found += [[*loc[:-1], name] for name, model in _sections(model_at(loc[:-1], data))
                  if name != loc[-1] and key in model.model_fields]
    found += [[*loc, name] for name, model in _sections(model_at(loc, data))
              if key in model.model_fields]
    return ".".join([*found[0], key]) if len(found) == 1 else None


def unknown_key_hint(loc: Sequence[str | int], key: str, data: Any) -> str:
    """What to say after "unknown field": where it belongs, the name meant, or what is allowed."""
    elsewhere = moved(loc, key, data)
    if elsewhere:
        return f"; set {elsewhere} instead"
    allowed = allowed_keys(loc, data)
    if not allowed:
        return ""
    return suggest(key, allowed) or f"; allowed here: {', '.join(sorted(allowed))}"
