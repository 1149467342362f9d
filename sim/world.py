"""The world's consistency: what the agencies, programmes and segments must agree on.

Each piece validates itself (a programme's fields, an agency's kind); what no single piece can
check, such as a programme naming an agency that does not exist, is checked here, once, for both
a scenario file (which reports it with the file and line) and ``TrustModel`` (which refuses it).
Kept free of the model and the scenario loader so either can import it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from sim.agencies import AgencySpec
from sim.programmes import Programme
from sim.segments import Segment

#: The trust column of general trust in public-sector data use; no agency may take its name.
GENERAL = "general"


def suggest(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the option closest to a mistyped word, else ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problems(agencies: Sequence[AgencySpec], programmes: Sequence[Programme],
             segments: Sequence[Segment]) -> list[tuple[str, str]]:
    """Everything wrong with this world, as (dotted path, message) pairs; empty if nothing.

    Paths name entries by name (``programmes.gp_records.holder``), as a scenario file writes them.
    """
    out = []
    agency_names = [a.name for a in agencies]
    for section, kind, names in (("agencies", "agency", agency_names),
                                 ("programmes", "programme", [p.name for p in programmes]),
                                 ("segments", "segment", [s.key for s in segments])):
        dupes = sorted({x for x in names if names.count(x) > 1})
        if dupes:
            out.append((section, f"duplicate {kind} names: {', '.join(dupes)}"))
    if GENERAL in agency_names:
        out.append((f"agencies.{GENERAL}",
                    f"{GENERAL!r} is reserved for general trust; rename that agency"))
    listed = ", ".join(sorted(set(agency_names)))
    for p in programmes:
        for role in ("holder", "recipient"):
            value = getattr(p, role)
            if value not in agency_names:
                out.append((f"programmes.{p.name}.{role}",
                            f"{value!r} is not an agency{suggest(value, agency_names)}; "
                            f"agencies: {listed}"))
    return out
