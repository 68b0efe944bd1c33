"""consent_engine: what each viewer may see of each entry in a child's record, and why.

Pure and explainable: `decide` reads only its arguments (no I/O, no clock, no globals), and every decision
carries its derivation, the basis used and the hash of the policy that made it. The policy is data: YAML
text parsed by `parse_policy` (the caller reads the file).
"""

from consent_engine.compiled import Policy
from consent_engine.decide import decide
from consent_engine.decision import Decision, Step
from consent_engine.labels import labels_for
from consent_engine.model import (
    ANY,
    NO_BASIS,
    BreakGlass,
    CompetenceAssessment,
    CompetenceFacts,
    CompetenceOutcome,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Contact,
    Entry,
    Level,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
)
from consent_engine.policy import check_policy, parse_policy
from consent_engine.policy_diff import DiffReport, diff_policies, generated_scenarios
from consent_engine.policy_render import render_markdown
from consent_engine.policy_spec import PolicyError, Problem
from consent_engine.scenario import EntrySample, Scenario, ScenarioError, scenario_from_mapping

__all__ = [
    "ANY",
    "NO_BASIS",
    "BreakGlass",
    "CompetenceAssessment",
    "CompetenceFacts",
    "CompetenceOutcome",
    "ConsentRecord",
    "ConsentStatus",
    "Consenter",
    "Contact",
    "Decision",
    "DiffReport",
    "Entry",
    "EntrySample",
    "Level",
    "Policy",
    "PolicyError",
    "Problem",
    "Relationship",
    "Scenario",
    "ScenarioError",
    "SharingBasis",
    "SharingKind",
    "Step",
    "Viewer",
    "check_policy",
    "decide",
    "diff_policies",
    "generated_scenarios",
    "labels_for",
    "parse_policy",
    "render_markdown",
    "scenario_from_mapping",
]
