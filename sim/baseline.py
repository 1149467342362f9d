"""The baseline world: the agencies and sharing programmes a model has unless told otherwise.

A calm, present-day mix modelled on the five CDEI cases (domain.md sections 1.2 and 5): GP records
for planning and research with the national opt-out, a shared care record for direct care, pupil
records to approved suppliers, the VAT register to credit reference agencies, and linked records
for a programme evaluation. No scheduled events: breaches happen only at their base rates.
"""

from __future__ import annotations

from sim.agencies import AgencyKind, AgencySpec
from sim.programmes import Barriers, Consent, LegalBasis, Mandate, Programme, Purpose

AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec(name="nhs", kind=AgencyKind.HEALTH, label="NHS (GP practices and hospitals)"),
    AgencySpec(name="dfe", kind=AgencyKind.CENTRAL_GOVERNMENT, label="Department for Education"),
    AgencySpec(name="hmrc", kind=AgencyKind.CENTRAL_GOVERNMENT, label="HM Revenue & Customs"),
    AgencySpec(name="council", kind=AgencyKind.LOCAL_GOVERNMENT, label="Local council"),
    AgencySpec(name="university", kind=AgencyKind.ACADEMIC, label="University researchers"),
    AgencySpec(name="supplier", kind=AgencyKind.PRIVATE_SUPPLIER, label="Approved supplier"),
    AgencySpec(name="cra", kind=AgencyKind.CREDIT_REFERENCE, label="Credit reference agency"),
)

PROGRAMMES: tuple[Programme, ...] = (
    # GP records for planning and research, national data opt-out: 2.77% opted out before the
    # 2021 episode (bjgpopen.org BJGPO.2024.0020), 31.8% aware of the opt-out (medRxiv
    # 10.1101/2020.09.12.20193276); sensitivity 0.9, benefit 1.0, transparency 0.2 (domain.md 5).
    Programme(
        name="gp_records", holder="nhs", recipient="university",
        purpose=Purpose.PLANNING_RESEARCH, legal_basis=LegalBasis.STATUTE, consent=Consent.OPT_OUT,
        mandate=Mandate(strength=0.0, public_interest_test=0.6, oversight=0.6), transparency=0.2,
        security=0.8, sensitivity=0.9, n_recipients=10, breach_rate=0.05, severity=0.3,
        publicity=0.9, benefit=1.0, initial_opt_out=0.0277, awareness=0.318,
    ),
    # Shared care record between the NHS and social care: direct care, the personal benefit.
    Programme(
        name="care_record", holder="nhs", recipient="council",
        purpose=Purpose.DIRECT_SERVICE, legal_basis=LegalBasis.IMPLIED_CONSENT,
        consent=Consent.OPT_OUT, transparency=0.5, security=0.8, sensitivity=0.7,
        breach_rate=0.05, severity=0.3, publicity=0.5, benefit=0.6,
        barriers=Barriers(interoperability=0.7), initial_opt_out=0.01,
    ),
    # National Pupil Database to approved suppliers: statutory, no opt-out, low transparency
    # (ICO audit 2020), misuse hazard 0.3 a year, benefit 0.3 (domain.md 1.2 and 5).
    Programme(
        name="pupil_records", holder="dfe", recipient="supplier",
        purpose=Purpose.PLANNING_RESEARCH, legal_basis=LegalBasis.STATUTE, consent=Consent.NONE,
        transparency=0.2, security=0.5, sensitivity=0.6, n_recipients=20, breach_rate=0.3,
        severity=0.4, publicity=0.3, benefit=0.3,
    ),
    # VAT register to credit reference agencies: statute (SBEE Act 2015 s.8), non-financial,
    # sensitivity 0.1, mandate 0.6, transparency 0.7 (domain.md 1.2 and 5).
    Programme(
        name="vat_register", holder="hmrc", recipient="cra",
        purpose=Purpose.COMMERCIAL, legal_basis=LegalBasis.STATUTE, consent=Consent.NONE,
        mandate=Mandate(strength=0.6, public_interest_test=0.7, oversight=0.6), transparency=0.7,
        security=0.7, sensitivity=0.1, n_recipients=5, breach_rate=0.01, severity=0.1,
        publicity=0.1, benefit=0.3,
    ),
    # Troubled Families evaluation: linked council, police, pupil and benefit records; mandate
    # 0.9, transparency 0.4, benefit 0.5 x P(effect) (domain.md 1.2 and 5).
    Programme(
        name="family_evaluation", holder="council", recipient="university",
        purpose=Purpose.PLANNING_RESEARCH, legal_basis=LegalBasis.PUBLIC_TASK,
        consent=Consent.NONE, mandate=Mandate(strength=0.9, public_interest_test=0.5,
                                              oversight=0.5),
        transparency=0.4, security=0.7, sensitivity=0.9, breach_rate=0.01, severity=0.2,
        publicity=0.1, benefit=0.25,
    ),
)
