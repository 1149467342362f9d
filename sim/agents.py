"""The Mesa agents: thin views onto the model's arrays, kept apart from the data they show.

A ``Citizen`` is a view onto one row of the citizens' arrays (sim.citizens), an ``Agency`` onto
one trust column; neither keeps state of its own. The model registers them (Mesa's ``AgentSet``)
so Mesa tools can find them; the mechanisms never use them. The same arrays are shown whole as a
pandas table (``citizens_frame``) and, for small populations, to Mesa's DataCollector
(``agent_reporters``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import pandas as pd

from sim.agencies import AgencyKind, AgencySpec
from sim.citizens import STATE, StateVar
from sim.demography import GROUP_KINDS
from sim.programmes import Choice, Consent

if TYPE_CHECKING:
    from sim.model import TrustModel


def _state_property(var: StateVar) -> property:
    def get(self: Citizen):
        value = getattr(self.model.citizens, var.name)[self.row]
        return value if var.axis != "citizen" else value.item()

    def set_(self: Citizen, value) -> None:
        getattr(self.model.citizens, var.name)[self.row] = value

    return property(get, set_, doc=var.meaning)


class Citizen(mesa.Agent):
    """A citizen as a Mesa agent: a view onto row ``row`` of the model's arrays.

    Reading ``citizen.trust`` gives that row of the trust array (a numpy view: writing into it
    changes the model); ``citizen.concern = 0.9`` writes the array. No state is kept here.
    """

    def __init__(self, model: TrustModel, row: int):
        super().__init__(model)
        self.row = row

    def trust_in(self, agency: str) -> float:
        """Trust in one agency by name (``"general"`` for general trust)."""
        return float(self.trust[self.model.column[agency]])

    @property
    def segment_key(self) -> str:
        return self.model.segments[self.segment].key

    @property
    def opted_out(self) -> list[str]:
        """Names of the programmes with a consent choice that this citizen has opted out of."""
        return [p.name for p, c in zip(self.model.programmes, self.choice, strict=True)
                if c == Choice.OUT and p.consent is not Consent.NONE]

    def __repr__(self) -> str:
        return f"Citizen(row={self.row}, segment={self.segment_key!r})"


for _var in STATE:
    setattr(Citizen, _var.name, _state_property(_var))


class Agency(mesa.Agent):
    """An agency as a Mesa agent; its trust is read from the citizens' trust column."""

    def __init__(self, model: TrustModel, spec: AgencySpec, column: int):
        super().__init__(model)
        self.spec = spec
        self.column = column

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> AgencyKind:
        return self.spec.kind

    @property
    def trust(self) -> float:
        """Mean trust of all citizens in this agency now."""
        return float(self.model.citizens.trust[:, self.column].mean(dtype="float64"))

    @property
    def programmes(self) -> list[str]:
        """Names of the sharing programmes this agency holds data for."""
        return [p.name for p in self.model.programmes if p.holder == self.name]

    def __repr__(self) -> str:
        return f"Agency({self.name!r}, kind={self.kind.value!r})"


# ------------------------------------------------------------------ tables of citizens
def _column_names(model: TrustModel, var: StateVar) -> list[str]:
    if var.axis == "trust":
        return [f"{var.name}_{name}" for name in model.column]
    if var.axis == "programme":
        return [f"{var.name}_{p.name}" for p in model.programmes]
    return [var.name]


def citizens_frame(model: TrustModel) -> pd.DataFrame:
    """Every citizen's state as one table (``TrustModel.citizens_frame`` documents the
    columns); the values are copies, so the table does not change as the model steps."""
    c = model.citizens
    keys = np.array([s.key for s in model.segments], dtype=object)
    agent_id = pd.array(np.full(c.n, pd.NA), dtype="Int64")
    citizens = model.agents_by_type.get(Citizen)
    if citizens:
        rows = np.fromiter((a.row for a in citizens), dtype=np.int64, count=len(citizens))
        agent_id[rows] = np.fromiter((a.unique_id for a in citizens), dtype=np.int64,
                                     count=len(citizens))
    columns: dict[str, Any] = {
        "id": np.arange(c.n), "agent_id": agent_id,
        "segment": pd.Categorical.from_codes(c.segment, categories=list(keys))}
    labelled = {"segment"}
    for _, name, labels in GROUP_KINDS:  # region, sex, age band, quintile by their labels
        columns[name] = pd.Categorical.from_codes(getattr(c, name), categories=list(labels))
        labelled.add(name)
    for var in STATE:
        if var.name in labelled:
            continue
        values = getattr(c, var.name)
        names = _column_names(model, var)
        if values.ndim == 1:
            columns[names[0]] = values.copy()
        else:
            columns.update({name: values[:, k].copy() for k, name in enumerate(names)})
    for p, prog in enumerate(model.programmes):
        columns[f"opted_out_{prog.name}"] = ((c.choice[:, p] == Choice.OUT)
                                             & (prog.consent is not Consent.NONE))
    return pd.DataFrame(columns)


def _agent_type(agent: mesa.Agent) -> str:
    return type(agent).__name__


def _citizen_value(agent: mesa.Agent, name: str, column: int | None = None) -> Any:
    """One state value of a citizen (None for an agency, which has no row)."""
    if not isinstance(agent, Citizen):
        return None
    value = getattr(agent.model.citizens, name)[agent.row]
    return (value if column is None else value[column]).item()


def _segment(agent: mesa.Agent) -> str | None:
    return agent.segment_key if isinstance(agent, Citizen) else None


def _opted_out(agent: mesa.Agent) -> int | None:
    return len(agent.opted_out) if isinstance(agent, Citizen) else None


def agent_reporters(model: TrustModel) -> dict[str, Callable[[mesa.Agent], Any]]:
    """Mesa agent reporters for this model's citizens: type, segment, trust in each agency
    (``trust_<agency>``) and in general (``trust_general``), privacy concern and the number of
    programmes opted out of. Mesa reports every agent, so an ``Agency`` row has its type and
    None elsewhere (the model reporters hold each agency's mean trust)."""
    reporters: dict[str, Callable[[mesa.Agent], Any]] = {"type": _agent_type,
                                                         "segment": _segment}
    for name, k in model.column.items():
        reporters[f"trust_{name}"] = partial(_citizen_value, name="trust", column=k)
    reporters["concern"] = partial(_citizen_value, name="concern")
    reporters["opted_out"] = _opted_out
    return reporters
