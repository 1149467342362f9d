"""trustsim: an agent-based model of citizen trust in public-sector data sharing.

``TrustModel`` is the Mesa model; ``Citizen`` and ``Agency`` (sim.agents) are its agents. Each
mechanism lives in the module named for it: sharing, breaches, campaigns, trust and
social_influence, control, mandates; docs/architecture.md maps the package.
"""

from sim.agencies import AgencyKind, AgencySpec
from sim.agents import Agency, Citizen
from sim.events import Breach, Campaign, Event, OptOutDeadline, Pause, PolicyChange, Resume, Scandal
from sim.model import TrustModel
from sim.params import TrustParams
from sim.programmes import Barriers, Consent, LegalBasis, Mandate, Programme, Purpose
from sim.segments import NHS_SEGMENTS, Segment

__version__ = "0.1.0"

__all__ = [
    "NHS_SEGMENTS", "Agency", "AgencyKind", "AgencySpec", "Barriers", "Breach", "Campaign",
    "Citizen", "Consent", "Event", "LegalBasis", "Mandate", "OptOutDeadline", "Pause",
    "PolicyChange", "Programme", "Purpose", "Resume", "Scandal", "Segment", "TrustModel",
    "TrustParams", "__version__",
]
