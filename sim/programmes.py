"""Sharing programmes as data: who shares what with whom, why, under which rules.

A programme is one flow of records from a holder agency to a recipient, as in the five CDEI cases
(pupil records to approved suppliers, VAT registrations to credit reference agencies, GP records
for planning and research, ...). Every behaviour of the model is driven by these fields; the
mechanisms read them through :class:`ProgrammeTable`, one array per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import catchment
from sim.agencies import RECIPIENT_PENALTY, AgencySpec
from sim.catchment import Catchment
from sim.demography import N_CELLS, N_REGIONS
from sim.valuation import Evidence, Harm, Unit, Value


class Purpose(StrEnum):
    DIRECT_SERVICE = "direct_service"  # personal service or direct care: benefit to the citizen
    PLANNING_RESEARCH = "planning_research"  # planning, research, evaluation: public benefit
    COMMERCIAL = "commercial"  # re-use by a business: little public benefit


#: The purposes in the order of the ``uses`` column and of the ``refused`` bits (bit k: purpose k).
PURPOSES: tuple[Purpose, ...] = tuple(Purpose)


class LegalBasis(StrEnum):
    STATUTE = "statute"  # a statutory gateway (e.g. the census, SBEE Act 2015 s.8)
    PUBLIC_TASK = "public_task"  # the holder's public task
    CONSENT = "consent"  # the citizen's consent: needs an opt-in or dynamic regime
    IMPLIED_CONSENT = "implied_consent"  # e.g. direct care (claimed, and rejected, at Royal Free)


#: How sound each legal basis is as a ground for sharing, for procedural legitimacy: a proposal
#: [P]. A statute or the citizen's own consent is a clear gateway; a public task is one the
#: holder must argue; implied consent for anything beyond direct care was rejected by the
#: National Data Guardian and the ICO at Royal Free (domain.md 1.2).
LAWFULNESS: dict[LegalBasis, float] = {
    LegalBasis.STATUTE: 1.0,
    LegalBasis.PUBLIC_TASK: 0.8,
    LegalBasis.CONSENT: 1.0,
    LegalBasis.IMPLIED_CONSENT: 0.3,
}


class Consent(StrEnum):
    NONE = "none"  # no choice: data flows
    OPT_OUT = "opt_out"  # flows unless the citizen opts out
    OPT_IN = "opt_in"  # flows only once the citizen opts in
    DYNAMIC = "dynamic"  # granular consent kept up to date on a dashboard, both ways


class Regime(IntEnum):
    """Consent regimes as small integers for the compiled kernels."""

    NONE = 0
    OPT_OUT = 1
    OPT_IN = 2
    DYNAMIC = 3


class Choice(IntEnum):
    """A citizen's recorded choice for one programme."""

    DEFAULT = 0  # no choice made: the regime's default applies
    OUT = 1  # opted out (or withdrew consent)
    IN = 2  # opted in


class Subjects(StrEnum):
    CITIZENS = "citizens"  # the records are citizens' own
    BUSINESSES = "businesses"  # business records: the citizens among them are sole traders


class PublicityScope(StrEnum):
    NATIONAL = "national"  # news of an incident can reach anyone
    LOCAL = "local"  # only the residents of the catchment's regions


#: Share of adult citizens who are the records of a business register: about 2.8M sole traders
#: and partnerships with little public credit data (domain.md 1.2) over about 53.1M UK adults
#: (67,026,292 x 79.08% aged 18 or over, domain.md A1, A2) = 0.0527 [S-d]. Counting each
#: partnership once understates the partners; counting all of them, VAT-registered or not,
#: overstates a VAT register's share.
SOLE_TRADER_SHARE = 0.053


class Mandate(BaseModel):
    """A public-interest mandate: purposes shared regardless of consent, and its legitimacy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strength: float = Field(
        default=0.0, ge=0, le=1,
        description="share of the programme's records shared whatever the citizen chose",
    )
    public_interest_test: float = Field(
        default=0.5, ge=0, le=1, description="clarity of the public-interest test (legitimacy)"
    )
    oversight: float = Field(
        default=0.5, ge=0, le=1, description="independent oversight of the mandate (legitimacy)"
    )


class Barriers(BaseModel):
    """The three barriers of the CDEI framing: technical, legal, cultural (each 1 = no barrier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interoperability: float = Field(
        default=0.9, ge=0, le=1, description="technical: share of records systems can exchange"
    )
    data_quality: float = Field(
        default=0.9, ge=0, le=1, description="technical: usable share of a shared record's value"
    )
    legal_clarity: float = Field(
        default=0.9, ge=0, le=1, description="legal: clarity of the gateway (share not blocked)"
    )
    willingness: float = Field(
        default=0.9, ge=0, le=1, description="cultural: holder's willingness to share"
    )


class Blame(BaseModel):
    """Who bears the trust cost of a programme's incidents: the share of its news that reaches
    trust in the holder, in the recipient and in public-sector data use in general
    (government). Unset shares take the defaults ``holder_blame``, 1 and ``general_spill``
    (sim.params); a case file sets them from the record (for example a regulator's findings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holder: float | None = Field(
        default=None, ge=0, le=1, description="share borne by the holder; unset: holder_blame"
    )
    recipient: float | None = Field(
        default=None, ge=0, le=1, description="share borne by the recipient; unset: 1"
    )
    government: float | None = Field(
        default=None, ge=0, le=1,
        description="share reaching general trust in public-sector data use; unset: "
        "general_spill",
    )


class ResponseAction(StrEnum):
    PAUSE = "pause"  # nothing flows until a resume event (GPDPR, July 2021)
    CANCEL = "cancel"  # nothing flows, for good: a later resume does not restart it (care.data)
    REFORM = "reform"  # the programme is changed (``changes``) and goes on


class Response(BaseModel):
    """An institutional response: a rule that pauses, cancels or reforms the programme once its
    opt-outs or the salience of its news cross a threshold (sim.institutions). It acts once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opt_out_above: float | None = Field(
        default=None, gt=0, lt=1,
        description="acts once the share of citizens opted out of the programme is above this")
    salience_above: float | None = Field(
        default=None, gt=0,
        description="acts once the mean salience of the programme's news is above this")
    after_weeks: int = Field(
        default=0, ge=0, description="weeks from the first week a threshold is crossed to the "
        "action (the time a decision takes)")
    action: ResponseAction = Field(default=ResponseAction.PAUSE, description="what is done")
    changes: dict[str, Any] = Field(
        default={}, description="programme fields changed with the action: the "
        "reform itself, or what goes with a pause or cancellation (a deadline withdrawn)")

    @model_validator(mode="after")
    def _a_threshold_and_a_reform(self) -> Response:
        if self.opt_out_above is None and self.salience_above is None:
            raise ValueError("response: give opt_out_above or salience_above (or both)")
        if self.action is ResponseAction.REFORM and not self.changes:
            raise ValueError("response: a reform needs the changes it makes")
        kept = {"name", "response", "active"} & set(self.changes)
        if kept:
            raise ValueError(f"response.changes cannot set {', '.join(sorted(kept))}: the "
                             "action sets whether the programme runs, and the rule acts once")
        return self


class Programme(BaseModel):
    """One data-sharing programme; see docs/model.md for how each field enters the equations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="identifier")
    holder: str = Field(description="agency that holds the records")
    recipient: str = Field(description="agency the records are shared with")
    purpose: Purpose = Field(default=Purpose.PLANNING_RESEARCH, description="why data is shared")
    uses: dict[Purpose, float] | None = Field(
        default=None,
        description="share of the programme's records used for each purpose (sums to 1); "
        "unset: all for `purpose`. Under dynamic consent citizens choose per used purpose",
    )
    catchment: Catchment = Field(
        default_factory=Catchment,
        description="whose records the programme holds: regions, groups and a share of them; "
        "default: everyone's",
    )
    subjects: Subjects = Field(
        default=Subjects.CITIZENS,
        description="whose records these are: citizens', or businesses' (the citizens among "
        "them are sole traders and partners, `citizen_share`)",
    )
    citizen_share: float | None = Field(
        default=None, gt=0, le=1,
        description="subjects 'businesses': share of the catchment's citizens who are among the "
        "programme's data subjects; unset: SOLE_TRADER_SHARE (0.053)",
    )
    legal_basis: LegalBasis = Field(default=LegalBasis.PUBLIC_TASK, description="legal gateway")
    consent: Consent = Field(default=Consent.OPT_OUT, description="citizen consent regime")
    dashboard: bool = Field(
        default=False, description="citizens can see who used their data (a data tracker)"
    )
    mandate: Mandate = Field(default_factory=Mandate, description="public-interest mandate")
    transparency: float = Field(
        default=0.5, ge=0, le=1, description="how openly the sharing is explained (legitimacy)"
    )
    announced: bool = Field(
        default=True, description="the public was told; hidden sharing costs more when discovered"
    )
    security: float = Field(default=0.7, ge=0, le=1, description="security of the data flow")
    sensitivity: float = Field(default=0.5, ge=0, le=1, description="sensitivity of the records")
    n_recipients: int = Field(default=1, ge=1, description="organisations receiving the data")
    breach_rate: float = Field(
        default=0.05, ge=0, le=52,
        description="breaches per year at full coverage, one recipient and security 0.5",
    )
    severity: float = Field(default=0.3, gt=0, lt=1, description="mean severity of a breach")
    publicity: float = Field(
        default=0.3, ge=0, le=1, description="share of the population a breach's news reaches"
    )
    publicity_scope: PublicityScope = Field(
        default=PublicityScope.NATIONAL,
        description="where the news of a breach or revelation can reach: national (anyone) or "
        "local (the residents of the catchment's regions)",
    )
    discovery_rate: float = Field(
        default=0.8, ge=0, le=52, description="per year: how fast hidden sharing is discovered"
    )
    benefit: float = Field(default=0.5, ge=0, le=1, description="benefit per shared record")
    barriers: Barriers = Field(default_factory=Barriers, description="technical/legal/cultural")
    blame: Blame = Field(default_factory=Blame,
                         description="who bears the trust cost of the programme's incidents")
    friction: float = Field(
        default=0.72, ge=0, le=1,
        description="weekly chance an attentive citizen does not get round to acting (the "
        "default is fitted to the 2021 GP opt-out surge)",
    )
    awareness: float = Field(
        default=0.3, ge=0, le=1,
        description="share of citizens who know at the start that they can opt out (or in); "
        "revelations, deadline announcements, campaigns and consent requests make more aware",
    )
    initial_opt_out: float | None = Field(
        default=None, gt=0, lt=1,
        description="observed share opted out at the start (opt-out and dynamic regimes): the "
        "programme's utility constant is fitted to it; unset: the constant share_intercept",
    )
    initial_opt_in: float | None = Field(
        default=None, gt=0, lt=1,
        description="observed share opted in at the start (opt-in regime): the programme's "
        "utility constant is fitted to it; unset: the constant share_intercept",
    )
    active: bool = Field(default=True, description="false while the programme is paused")
    deadline: int | None = Field(
        default=None, ge=0, description="step of the current opt-out deadline, if any"
    )
    deadline_salience: float = Field(
        default=0.0, ge=0, le=1, description="how strongly the deadline prompts citizens to act"
    )
    value: Value | None = Field(
        default=None, description="what the records that flow produce, in a real unit per "
        "citizen-year of the catchment (output benefit_<programme>_<unit>); unset: not valued")
    harm: Harm | None = Field(
        default=None, description="what records that do not flow cost, in a real unit per "
        "citizen-year withheld (output harm_<programme>_<unit>); unset: none stated")
    evidence: Evidence | None = Field(
        default=None, description="an evaluation: the spending or decision its evidence informs "
        "per citizen-year, whatever it finds (output evidence_<programme>_<unit>); unset: none")
    response: Response | None = Field(
        default=None, description="a rule that pauses, cancels or reforms the programme when "
        "opt-outs or news cross a threshold (institutional response); unset: none")

    @model_validator(mode="after")
    def _consent_basis_needs_a_choice(self) -> Programme:
        if self.legal_basis is LegalBasis.CONSENT and self.consent not in (
            Consent.OPT_IN, Consent.DYNAMIC
        ):
            raise ValueError(
                "legal_basis 'consent' needs consent 'opt_in' or 'dynamic', "
                f"not {self.consent.value!r}"
            )
        return self

    @model_validator(mode="after")
    def _citizen_share_needs_businesses(self) -> Programme:
        if self.citizen_share is not None and self.subjects is not Subjects.BUSINESSES:
            raise ValueError("citizen_share applies to subjects 'businesses'; a share of "
                             "citizens as subjects is catchment.share")
        return self

    @model_validator(mode="after")
    def _response_changes_apply(self) -> Programme:
        if self.response is not None and self.response.changes:
            try:
                self.changed_in_run(response=None, **self.response.changes)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                raise ValueError(f"response.changes: {where}: {first['msg']}") from None
        return self

    def units(self) -> tuple[Unit | None, Unit | None, Unit | None]:
        """The units of the value, harm and evidence (None: unset): a run's output columns are
        named for them, so they are fixed once the programme exists (:meth:`changed`)."""
        return tuple(None if x is None else x.unit for x in (self.value, self.harm,
                                                             self.evidence))

    @property
    def subject_share(self) -> float:
        """Share of the citizens in the catchment's groups whose records the programme holds."""
        if self.subjects is Subjects.CITIZENS:
            return self.catchment.share
        share = SOLE_TRADER_SHARE if self.citizen_share is None else self.citizen_share
        return self.catchment.share * share

    @model_validator(mode="after")
    def _uses_are_shares(self) -> Programme:
        if self.uses is not None:
            if not self.uses:
                raise ValueError("uses: give at least one purpose")
            if any(not 0 <= v <= 1 for v in self.uses.values()):
                raise ValueError("uses: each share must lie in [0, 1]")
            if abs(sum(self.uses.values()) - 1) > 1e-9:
                raise ValueError(f"uses: the shares must sum to 1, not {sum(self.uses.values())}")
        return self

    def use_shares(self) -> list[float]:
        """The shares of the records used for each purpose, in ``PURPOSES`` order."""
        uses = self.uses if self.uses is not None else {self.purpose: 1.0}
        return [float(uses.get(k, 0.0)) for k in PURPOSES]

    @property
    def legitimacy(self) -> float:
        """Procedural legitimacy of the sharing: the mean of its public-interest test, oversight,
        transparency and the soundness of its legal basis (``LAWFULNESS``)."""
        return (self.mandate.public_interest_test + self.mandate.oversight + self.transparency
                + LAWFULNESS[self.legal_basis]) / 4

    def changed(self, **changes: object) -> Programme:
        """A validated copy with some fields changed (nested models as dicts, merged; ``uses``
        is replaced whole)."""
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(getattr(self, key, None), BaseModel):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return Programme.model_validate(data)

    def changed_in_run(self, **changes: object) -> Programme:
        """:meth:`changed`, for a change during a run (an event, a policy, a decision rule): the
        units of value, harm and evidence, set or unset, stay as they are, since the run's
        outputs are named for them."""
        new = self.changed(**changes)
        if new.units() != self.units():
            raise ValueError("the units of value, harm and evidence are fixed for a run (the "
                             f"outputs are named for them): {_units(self)} cannot become "
                             f"{_units(new)}")
        return new


def _units(programme: Programme) -> str:
    named = zip(("value", "harm", "evidence"), programme.units(), strict=True)
    return ", ".join(f"{k} {'unset' if u is None else u.value}" for k, u in named)


@dataclass(frozen=True)
class ProgrammeTable:
    """The programmes' fields as arrays of length P, the form the kernels read."""

    holder: np.ndarray  # int64 column of the holder agency
    recipient: np.ndarray  # int64 column of the recipient agency
    regime: np.ndarray  # int8 Regime code
    dashboard: np.ndarray  # bool
    direct: np.ndarray  # bool, purpose is direct service
    commercial: np.ndarray  # bool, purpose is commercial
    uses: np.ndarray  # float64 P x 3 share of records used per purpose (PURPOSES order)
    main: np.ndarray  # int64 index of the programme's own `purpose` in PURPOSES
    mandate: np.ndarray  # float64 mandate strength m
    legitimacy: np.ndarray  # float64 L
    transparency: np.ndarray  # float64 what people were told
    visible: np.ndarray  # bool: announced (a pause stops flows, not what people know)
    active: np.ndarray  # bool
    security: np.ndarray
    sensitivity: np.ndarray
    n_recipients: np.ndarray
    breach_rate: np.ndarray
    discovery_rate: np.ndarray
    benefit: np.ndarray
    data_quality: np.ndarray
    realisation: np.ndarray  # interoperability * legal clarity * willingness
    willingness: np.ndarray  # cultural barrier: the holder's willingness to share at the start
    friction: np.ndarray
    awareness: np.ndarray
    recipient_penalty: np.ndarray  # risk weight of the recipient's kind
    blame: np.ndarray  # float64 P x 3 blame of holder, recipient, government (NaN: default)
    member: np.ndarray  # bool P x N_CELLS: the demographic cells the catchment covers
    subject_share: np.ndarray  # float64 share of those cells' citizens whose records it holds
    subject_key: np.ndarray  # int64 32-bit key of the membership draws (sim.catchment)
    everyone: np.ndarray  # bool: holds every citizen's records
    news_regions: np.ndarray  # bool P x N_REGIONS: where news of an incident can reach

    @classmethod
    def build(
        cls, programmes: Sequence[Programme], agencies: Sequence[AgencySpec], salt: int = 0
    ) -> ProgrammeTable:
        """The arrays; ``salt`` (the model's draw of stream ``catchment``) keys membership."""
        column = {a.name: k for k, a in enumerate(agencies)}
        kind = {a.name: a.kind for a in agencies}

        def arr(get, dtype=np.float64):
            return np.array([get(p) for p in programmes], dtype=dtype)

        return cls(
            holder=arr(lambda p: column[p.holder], np.int64),
            recipient=arr(lambda p: column[p.recipient], np.int64),
            regime=arr(lambda p: Regime[p.consent.name], np.int8),
            dashboard=arr(lambda p: p.dashboard, bool),
            direct=arr(lambda p: p.purpose is Purpose.DIRECT_SERVICE, bool),
            commercial=arr(lambda p: p.purpose is Purpose.COMMERCIAL, bool),
            uses=np.array([p.use_shares() for p in programmes], np.float64).reshape(-1, 3),
            main=arr(lambda p: PURPOSES.index(p.purpose), np.int64),
            mandate=arr(lambda p: p.mandate.strength),
            legitimacy=arr(lambda p: p.legitimacy),
            transparency=arr(lambda p: p.transparency),
            visible=arr(lambda p: p.announced, bool),
            active=arr(lambda p: p.active, bool),
            security=arr(lambda p: p.security),
            sensitivity=arr(lambda p: p.sensitivity),
            n_recipients=arr(lambda p: p.n_recipients),
            breach_rate=arr(lambda p: p.breach_rate),
            discovery_rate=arr(lambda p: p.discovery_rate),
            benefit=arr(lambda p: p.benefit),
            data_quality=arr(lambda p: p.barriers.data_quality),
            realisation=arr(
                lambda p: p.barriers.interoperability * p.barriers.legal_clarity
                * p.barriers.willingness * p.active
            ),
            willingness=arr(lambda p: p.barriers.willingness),
            friction=arr(lambda p: p.friction),
            awareness=arr(lambda p: p.awareness),
            recipient_penalty=arr(lambda p: RECIPIENT_PENALTY[kind[p.recipient]]),
            blame=np.array([[np.nan if v is None else v for v in
                             (p.blame.holder, p.blame.recipient, p.blame.government)]
                            for p in programmes], np.float64).reshape(-1, 3),
            member=np.array([p.catchment.cells() for p in programmes], bool).reshape(-1, N_CELLS),
            subject_share=arr(lambda p: p.subject_share),
            subject_key=arr(lambda p: catchment.key(p.name, salt), np.int64),
            everyone=arr(lambda p: p.catchment.everyone and p.subject_share == 1.0, bool),
            news_regions=np.array(
                [p.catchment.region_mask() if p.publicity_scope is PublicityScope.LOCAL
                 else np.ones(N_REGIONS, bool) for p in programmes], bool).reshape(-1, N_REGIONS),
        )

    def __len__(self) -> int:
        return len(self.holder)
