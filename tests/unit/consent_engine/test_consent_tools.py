"""Scenario documents, the policy dry-run diff and the Markdown rendering."""

from __future__ import annotations

import pytest

from consent_engine import (
    ConsentStatus,
    EntrySample,
    Level,
    ScenarioError,
    SharingKind,
    decide,
    diff_policies,
    generated_scenarios,
    parse_policy,
    render_markdown,
    scenario_from_mapping,
)
from consent_engine.policy_diff import entry_scenarios, viewer_classes
from consent_engine.scenario import entry_sample_from_mapping, parse_time

from .builders import MINI, MINI_DIRECTORY, NOW, default_policy, entry, mini_policy, rel

SCENARIO = {
    "now": "2026-05-01T12:00:00Z",
    "viewer": {
        "user_id": "u1",
        "organisation": "RX4",
        "role": "camhs-clinician",
        "purpose": "direct-care",
        "break_glass": {
            "reason": "emergency-care",
            "justification": "collapsed",
            "child_id": "c1",
            "starts_at": "2026-05-01T11:00:00Z",
            "expires_at": "2026-05-01T13:00:00Z",
            "categories": ["*"],
        },
    },
    "entry": {
        "id": "e1",
        "child_id": "c1",
        "source_organisation": "A81001",
        "category": "mental-health",
        "labels": ["PSY"],
        "sharing_basis": {"kind": "consent", "reference": "C1"},
        "occurred_at": "2026-04-01T09:00:00+01:00",
    },
    "consents": [
        {
            "id": "C1",
            "status": "given",
            "by": "young-person",
            "competent": True,
            "recorded_at": "2026-01-01T00:00:00Z",
            "organisation_types": ["camhs"],
            "categories": ["mental-health"],
            "purposes": ["direct-care"],
            "end": None,
        }
    ],
    "relationships": [{"organisation": "RX4", "start": "2025-01-01T00:00:00Z"}],
}


def test_scenario_from_mapping() -> None:
    scenario = scenario_from_mapping(SCENARIO)
    assert scenario.now == NOW and scenario.consents[0].status is ConsentStatus.GIVEN
    assert scenario.entry.sharing_basis.kind is SharingKind.CONSENT
    assert scenario.viewer.break_glass is not None and scenario.relationships[0].organisation == "RX4"
    decision = decide(
        default_policy(), scenario.consents, scenario.relationships, scenario.viewer, scenario.entry, scenario.now
    )
    assert decision.level is Level.FULL and decision.alert
    minimal = scenario_from_mapping({k: SCENARIO[k] for k in ("now", "viewer", "entry")})
    assert minimal.consents == () and minimal.relationships == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a mapping"),
        ({**SCENARIO, "extra": 1}, "unknown keys extra"),
        ({k: v for k, v in SCENARIO.items() if k != "entry"}, "needs 'entry'"),
        ({**SCENARIO, "now": "yesterday"}, "not an ISO 8601 time"),
        ({**SCENARIO, "now": "2026-05-01T12:00:00"}, "timezone-aware"),
        ({**SCENARIO, "viewer": "camhs"}, "viewer must be a mapping"),
        ({**SCENARIO, "viewer": {"user": "u1"}}, "unknown keys user"),
        ({**SCENARIO, "consents": {"id": "C1"}}, "consents must be a list"),
        ({**SCENARIO, "consents": "C1"}, "consents must be a list"),
        ({**SCENARIO, "consents": [{"id": "C1"}]}, "consents\\[0\\]"),
        (
            {**SCENARIO, "consents": [{**SCENARIO["consents"][0], "status": "perhaps"}]},  # type: ignore[index]
            "perhaps",
        ),
    ],
)
def test_bad_scenarios(document: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_mapping(document)


def test_entry_samples() -> None:
    sample = entry_sample_from_mapping({"entry": SCENARIO["entry"], "consents": SCENARIO["consents"]})
    assert sample.entry.id == "e1" and len(sample.consents) == 1 and sample.relationships == ()
    bad: object
    for bad in ([], {"consents": []}, {"entry": SCENARIO["entry"], "viewer": {}}):
        with pytest.raises(ScenarioError):
            entry_sample_from_mapping(bad)
    assert parse_time(NOW) is NOW


def test_diff_of_a_policy_with_itself_changes_nothing() -> None:
    policy = mini_policy()
    report = diff_policies(policy, policy, generated_scenarios(policy, policy, NOW))
    assert report.decisions > 0 and report.changed == report.widened == report.narrowed == 0
    assert report.old_version == report.new_version == policy.digest
    assert {r.role for r in report.by_role} == {"gp", "teacher", "ig-officer"}


def test_diff_counts_changes_by_role() -> None:
    old = mini_policy()
    new = parse_policy(
        MINI.replace("      flag: [mental-health]\n", "      summary: [mental-health]\n").replace(
            "      summary: [attendance]\n    safeguarding", "      flag: [attendance]\n    safeguarding"
        ),
        directory=MINI_DIRECTORY,
    )
    report = diff_policies(old, new, generated_scenarios(old, new, NOW), examples=2)
    by_role = {r.role: r for r in report.by_role}
    assert by_role["teacher"].widened > 0 and by_role["teacher"].narrowed == 0
    assert by_role["gp"].narrowed > 0 and by_role["gp"].widened == 0
    assert by_role["ig-officer"].changed == 0
    assert report.changed == report.widened + report.narrowed == sum(r.changed for r in report.by_role)
    assert len(report.examples) == 2
    data = report.to_dict()
    assert data["changed"] == report.changed and data["by_role"][0]["role"] == report.by_role[0].role  # type: ignore[index]
    assert isinstance(data["examples"], list) and data["examples"][0]["old"] != data["examples"][0]["new"]
    table = report.table()
    assert table.splitlines()[0].split() == ["role", "decisions", "changed", "widened", "narrowed"]
    assert table.splitlines()[-1].split()[0] == "total"


def test_diff_over_given_entries() -> None:
    old = mini_policy()
    new = parse_policy(MINI.replace("      flag: [mental-health]\n", ""), directory=MINI_DIRECTORY)
    samples = [
        EntrySample(entry(source="GP1")),
        EntrySample(entry("attendance", source="GP1"), relationships=(rel("SCH1"),)),
    ]
    scenarios = list(entry_scenarios(old, new, samples, NOW))
    assert len(scenarios) == 2 * len(viewer_classes(old, new))
    report = diff_policies(old, new, scenarios)
    assert report.decisions == len(scenarios)
    assert report.changed == report.narrowed == 1  # without consents only the teacher's own flag was shown
    assert report.examples[0].role == "teacher" and report.examples[0].organisation == "GP1"


def test_render_markdown() -> None:
    text = render_markdown(default_policy())
    assert text.startswith("# OneStory default data-sharing agreement")
    assert default_policy().digest in text
    assert "| `mental-health` | full | full | summary | flag | flag | summary | flag |" in text
    assert "| `sexual-health` (sealed) |" in text and "## Break-glass" in text
    assert "| `deny-eth-sdv-non-clinical` | deny |" in text
    mini = render_markdown(mini_policy())
    assert "Not allowed by this policy." in mini and "at most `summary`" in mini
    assert "organisations: `SCH2`" in mini
    bare = parse_policy(
        MINI.replace("name: Mini policy\n", "")
        .replace("description: A small policy for edge cases.\n", "")
        .replace("  PSY: Psychiatry.", "  PSY: Psychiatry | mind"),
        directory=MINI_DIRECTORY,
    )
    rendered = render_markdown(bare)
    assert rendered.startswith("# Data-sharing policy") and "Psychiatry \\| mind" in rendered
    unused_purpose = parse_policy(
        MINI.replace("  audit: Audit.\n", "  audit: Audit.\n  research: Research.\n"), directory=MINI_DIRECTORY
    )
    assert "Acting for `research`" not in render_markdown(unused_purpose)
