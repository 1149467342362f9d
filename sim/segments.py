"""Citizen attitude segments: who trusts whom at the start, and who cares most about control.

The six segments of NHS England's public-attitudes segmentation (survey of more than 2,200
people; domain.md SF8) give each citizen a share, a level of trust in the NHS and a concern for
control. Trust in every other agency is scaled by the segment's trust relative to the population
mean, so a sceptic of the NHS is also a sceptic of the tax office.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Segment(BaseModel):
    """One attitude segment of the population."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="short name used in output columns")
    label: str = Field(description="name in the source survey")
    share: float = Field(gt=0, le=1, description="share of the population (normalised over all)")
    nhs_trust: float = Field(ge=0, le=1, description="share trusting the NHS generally")
    control: float = Field(
        ge=0, le=1, description="share who strongly agree control over their data is important"
    )
    need: float = Field(
        default=0.4, gt=0, lt=1, description="mean need for public services (beta-distributed)"
    )


#: NHS England segmentation (domain.md SF8): share, trust in the NHS generally, strongly agree
#: that control is important. Need is a proposal [P]: higher for "unfamiliar and unsure", 82% of
#: whom are over 65.
NHS_SEGMENTS: tuple[Segment, ...] = (
    Segment(key="enthusiasts", label="Confident data enthusiasts", share=0.21,
            nhs_trust=0.93, control=0.51),
    Segment(key="followers", label="Neutral followers", share=0.20, nhs_trust=0.88, control=0.53),
    Segment(key="cautious", label="Cautious data sharers", share=0.14, nhs_trust=0.60,
            control=0.81),
    Segment(key="unfamiliar", label="Unfamiliar and unsure", share=0.11, nhs_trust=0.87,
            control=0.84, need=0.6),
    Segment(key="disengaged", label="Disengaged and health-data protective", share=0.23,
            nhs_trust=0.59, control=0.58),
    Segment(key="sceptics", label="NHS and privacy sceptics", share=0.10, nhs_trust=0.28,
            control=0.75),
)


def shares(segments: Sequence[Segment]) -> np.ndarray:
    """Population shares, normalised to sum to one (the survey's add to 99%)."""
    s = np.array([seg.share for seg in segments], dtype=np.float64)
    return s / s.sum()


def trust_factors(segments: Sequence[Segment]) -> np.ndarray:
    """Each segment's trust relative to the population mean (1 = average citizen)."""
    t = np.array([seg.nhs_trust for seg in segments], dtype=np.float64)
    return t / float(shares(segments) @ t)
