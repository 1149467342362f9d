"""Agencies: the organisations that hold citizens' data or receive it.

Who holds the data matters more than how it is used (CDEI tracker wave 4, domain.md SF3), so an
agency's *kind* fixes where citizens' trust in it starts and how much trust sharing with it costs.
Their trust lives in the citizens' arrays, one column each; sim.agents has their Mesa agent view.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AgencyKind(StrEnum):
    HEALTH = "health"
    CENTRAL_GOVERNMENT = "central_government"
    LOCAL_GOVERNMENT = "local_government"
    ACADEMIC = "academic"
    PRIVATE_SUPPLIER = "private_supplier"
    CREDIT_REFERENCE = "credit_reference"
    TECHNOLOGY_PARTNER = "technology_partner"


#: Mean initial trust by kind (domain.md section 5: NHS 0.75; central government 0.30; local
#: government 0.35; academics 0.6; private suppliers and CRAs 0.25; big tech 0.15).
INITIAL_TRUST: dict[AgencyKind, float] = {
    AgencyKind.HEALTH: 0.75,
    AgencyKind.CENTRAL_GOVERNMENT: 0.30,
    AgencyKind.LOCAL_GOVERNMENT: 0.35,
    AgencyKind.ACADEMIC: 0.60,
    AgencyKind.PRIVATE_SUPPLIER: 0.25,
    AgencyKind.CREDIT_REFERENCE: 0.25,
    AgencyKind.TECHNOLOGY_PARTNER: 0.15,
}

#: Mean initial general trust in public-sector data use: ICO 2018 overall high trust 34%;
#: Eurobarometer 2020, 68% of UK respondents distrust public authorities with data (domain.md 1.3).
GENERAL_TRUST = 0.33

#: How much perceived risk sharing *with* a recipient of this kind carries, relative to a private
#: supplier (= 1). Proposal [P] from the ranking in CDEI tracker wave 4 and the Wellcome "One-Way
#: Mirror" red line on solely private benefit (domain.md SF3).
RECIPIENT_PENALTY: dict[AgencyKind, float] = {
    AgencyKind.HEALTH: 0.4,
    AgencyKind.CENTRAL_GOVERNMENT: 0.4,
    AgencyKind.LOCAL_GOVERNMENT: 0.4,
    AgencyKind.ACADEMIC: 0.3,
    AgencyKind.PRIVATE_SUPPLIER: 1.0,
    AgencyKind.CREDIT_REFERENCE: 1.0,
    AgencyKind.TECHNOLOGY_PARTNER: 1.2,
}


class AgencySpec(BaseModel):
    """What defines an agency: a name, a kind, and optionally its own starting trust."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$",
                      description="identifier, used in `trust_<name>`")
    kind: AgencyKind = Field(description="kind of organisation; sets initial trust and risk")
    label: str = Field(default="", description="human-readable name")
    initial_trust: float | None = Field(
        default=None, ge=0, le=1,
        description="mean initial trust of an average citizen; default from the kind",
    )

    @property
    def mean_initial_trust(self) -> float:
        return INITIAL_TRUST[self.kind] if self.initial_trust is None else self.initial_trust
