"""The Mesa agents: thin views onto the model's arrays, kept apart from the data they show.

A ``Citizen`` is a view onto one row of the citizens' arrays (sim.citizens), an ``Agency`` onto
one trust column; neither keeps state of its own. The model registers them (Mesa's ``AgentSet``)
so Mesa tools can find them; the mechanisms never use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.agencies import AgencyKind, AgencySpec
from sim.citizens import STATE, StateVar
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
