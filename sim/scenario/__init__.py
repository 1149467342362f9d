"""Scenario files: a situation described in YAML, validated, and turned into models.

A scenario names the world (agencies and sharing programmes), the population, the behavioural
parameters, the network, policies and a timeline of events, and how to run it (steps,
replicates, seed). It can ``extends:`` another file and override parts of it; any value can be
addressed by a dotted path such as ``programmes.gp_records.publicity`` (``trustsim run --set``,
sweeps).

One module per job:

- ``spec``: the pydantic models a file is validated against (:class:`Scenario`), and its schema;
- ``paths``: dotted paths into scenario data, and the model that validates a path;
- ``loading``: strict YAML, ``extends`` and ``--set`` overrides (:func:`load`, :func:`files`);
- ``validation``: located problems (:class:`Problem`, :class:`ScenarioError`), the checks beyond
  the schema and the dry run of programme changes;
- ``resources``: the memory a run needs and the memory there is;
- ``bundled``: the scenario files that ship with trustsim, found by bare name (``baseline``).
"""

from sim.scenario import bundled
from sim.scenario.loading import apply_overrides, files, load, read, resolve
from sim.scenario.paths import allowed_keys, get_path, model_at, set_path
from sim.scenario.resources import available_memory, memory_estimate
from sim.scenario.spec import POLICY_LEVERS, MandatePatch, Policy, PopulationSpec, Scenario, schema
from sim.scenario.validation import Problem, ScenarioError, Source, locate, validate
from sim.world import suggest

__all__ = [
    "POLICY_LEVERS", "MandatePatch", "Policy", "PopulationSpec", "Problem", "Scenario",
    "ScenarioError", "Source", "allowed_keys", "apply_overrides", "available_memory", "bundled",
    "files",
    "get_path", "load", "locate", "memory_estimate", "model_at", "read", "resolve", "schema",
    "set_path", "suggest", "validate",
]
