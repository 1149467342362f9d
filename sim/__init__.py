"""trustsim: an agent-based model of citizen trust in public-sector data sharing.

``TrustModel`` is the Mesa model; ``Citizen`` and ``Agency`` are its agents. The mechanisms live
in modules named for them: sharing, control, mandates, breaches, trust, social_influence.
"""

from sim.agencies import Agency, AgencyKind, AgencySpec
from sim.citizens import Citizen
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
