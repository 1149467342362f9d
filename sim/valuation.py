"""What a programme's records are worth, and what their absence costs, in real units.

A programme can state what the records that flow produce (``value``: pounds, QALYs, staff
hours, ...), what the records that do not flow cost (``harm``: missed safeguarding referrals,
missed alerts, ...) and, for an evaluation, the spending or decision its evidence informs
(``evidence``), each per citizen-year of the programme's catchment. The model turns them into
amounts per week for the adults its citizens stand for (sim.public_value), so outputs are in
units a policy reader knows; amounts are only ever summed within one unit.

This module is data (what a scenario file is validated against): pydantic and the demographic
groups' names only, so validating a file loads no compiled code.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Unit(StrEnum):
    """The real units an amount can be stated in (an output column ends with the unit's key)."""

    GBP = "gbp"  # pounds sterling, at the prices of the source
    QALY = "qaly"  # quality-adjusted life years
    STAFF_HOURS = "staff_hours"  # hours of staff time
    DEATHS = "deaths"  # deaths: averted (a benefit) or not averted (a harm)
    CASES = "cases"  # cases of a harm the scenario names (missed referrals, missed alerts, ...)


#: How figures and reports write each unit.
UNIT_LABELS: dict[Unit, str] = {
    Unit.GBP: "£", Unit.QALY: "QALYs", Unit.STAFF_HOURS: "staff hours", Unit.DEATHS: "deaths",
    Unit.CASES: "cases",
}


class GroupKind(StrEnum):
    """The demographic groupings a use of the records can depend on, in the order of
    ``sim.demography.GROUP_KINDS`` (the nesting of the cells)."""

    REGION = "region"
    SEX = "sex"
    AGE_BAND = "age_band"
    DEPRIVATION = "deprivation"


_UNIT = "the real unit of the amount"
_SOURCE = ("where the amount comes from (a source key of docs/sources.md and the arithmetic); a "
           "label, it changes no number")
_DEPENDS = ("the demographic groupings the use depends on: the amount falls as the shared "
            "records' mix across their groups departs from the catchment's; unset: all four; "
            "[]: none")


class Value(BaseModel):
    """What the programme's records produce: an amount per covered citizen per year, at full
    coverage and full representativeness."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit = Field(description=_UNIT)
    per_citizen_year: float = Field(
        ge=0, description="amount produced per citizen of the catchment per year when every "
        "record flows and the shared records are representative")
    depends_on: list[GroupKind] | None = Field(default=None, description=_DEPENDS)
    source: str | None = Field(default=None, description=_SOURCE)


class Harm(BaseModel):
    """What records that do not flow cost: an amount per citizen-year of records withheld."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit = Field(description=_UNIT)
    per_citizen_year: float = Field(
        ge=0, description="harm per citizen of the catchment per year whose records do not flow "
        "(beyond the benefit forgone), e.g. missed safeguarding referrals or missed alerts")
    source: str | None = Field(default=None, description=_SOURCE)


class Evidence(BaseModel):
    """What an evaluation's evidence informs, whatever it finds: the spending or decision at
    stake per covered citizen per year, at full coverage and full representativeness."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit = Field(description=_UNIT)
    per_citizen_year: float = Field(
        ge=0, description="spending or decision the evidence informs per citizen of the "
        "catchment per year, at full coverage and representativeness, null results included")
    depends_on: list[GroupKind] | None = Field(default=None, description=_DEPENDS)
    source: str | None = Field(default=None, description=_SOURCE)


def kinds(depends_on: list[GroupKind] | None) -> tuple[GroupKind, ...]:
    """The groupings an amount's representativeness is measured over (unset: all four)."""
    return tuple(GroupKind) if depends_on is None else tuple(dict.fromkeys(depends_on))
