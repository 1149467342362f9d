"""trustsim: an agent-based model of citizen trust in public-sector data sharing.

``TrustModel`` is the Mesa model; ``Citizen`` and ``Agency`` (sim.agents) are its agents. Each
mechanism lives in the module named for it: sharing, breaches, campaigns, trust and
social_influence, control, mandates; docs/architecture.md maps the package.

The public names below are imported when first used (PEP 562), so ``import sim`` and the
command line's ``--help``, ``validate`` and ``schema`` do not load Mesa, numba, SciPy or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_SOURCES: dict[str, str] = {
    "AgencyKind": "sim.agencies", "AgencySpec": "sim.agencies",
    "Agency": "sim.agents", "Citizen": "sim.agents",
    "Breach": "sim.events", "Campaign": "sim.events", "Event": "sim.events",
    "OptOutDeadline": "sim.events", "Pause": "sim.events", "PolicyChange": "sim.events",
    "Resume": "sim.events", "Scandal": "sim.events",
    "TrustModel": "sim.model",
    "TrustParams": "sim.params",
    "Barriers": "sim.programmes", "Blame": "sim.programmes", "Consent": "sim.programmes",
    "LegalBasis": "sim.programmes",
    "Mandate": "sim.programmes", "Programme": "sim.programmes", "Purpose": "sim.programmes",
    "NHS_SEGMENTS": "sim.segments", "Segment": "sim.segments",
    "run": "sim.api", "compare": "sim.api", "read_results": "sim.api",
    "RunResults": "sim.api", "load_scenario": "sim.api",
}

__all__ = [
    "NHS_SEGMENTS", "Agency", "AgencyKind", "AgencySpec", "Barriers", "Blame", "Breach",
    "Campaign", "Citizen", "Consent", "Event", "LegalBasis", "Mandate", "OptOutDeadline", "Pause",
    "PolicyChange", "Programme", "Purpose", "Resume", "RunResults", "Scandal", "Segment",
    "TrustModel", "TrustParams", "__version__", "compare", "load_scenario", "read_results", "run",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports
    from sim.agencies import AgencyKind, AgencySpec
    from sim.agents import Agency, Citizen
    from sim.api import RunResults, compare, load_scenario, read_results, run
    from sim.events import (
        Breach,
        Campaign,
        Event,
        OptOutDeadline,
        Pause,
        PolicyChange,
        Resume,
        Scandal,
    )
    from sim.model import TrustModel
    from sim.params import TrustParams
    from sim.programmes import (
        Barriers,
        Blame,
        Consent,
        LegalBasis,
        Mandate,
        Programme,
        Purpose,
    )
    from sim.segments import NHS_SEGMENTS, Segment


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used, and keep the name."""
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
