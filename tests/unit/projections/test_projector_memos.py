"""The projector's memos (consent records by row, viewer classes by organisations) give what building afresh
gives, and rows that differ in anything the record reads never share one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.disclosure.consent_records import _record, to_record
from hub.disclosure.decide import _viewer_classes, viewer_classes
from hub.disclosure.rules import bundled_rules
from tests.unit.consent_engine.test_consent_properties import POLICY

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), None])
_TIMES = st.builds(
    lambda hours, zone: (datetime(2026, 1, 1) + timedelta(hours=hours)).replace(tzinfo=zone),
    st.integers(-48, 48),
    _ZONES,
)
_SMALL = st.lists(st.sampled_from(["*", "A81001", "RX4", "gp-practice", "school", "direct-care", "mental-health"]))
_ROWS = st.fixed_dictionaries(
    {
        "consent_id": st.sampled_from(["c1", "c2"]),
        "status": st.sampled_from(["given", "withdrawn", "refused"]),
        "given_by": st.sampled_from(["parental-responsibility", "young-person"]),
        "recorded_at": _TIMES,
        "competent": st.sampled_from([None, False, True, 0, 1]),
        "organisations": _SMALL,
        "organisation_types": _SMALL,
        "categories": _SMALL,
        "purposes": _SMALL,
        "period_start": st.none() | _TIMES,
        "period_end": st.none() | _TIMES,
        "withdraws": st.none() | st.sampled_from(["c1", "c2"]),
        "child_id": st.sampled_from(["child-1", "child-2"]),
    }
)


def _fields(record: object) -> tuple[object, ...]:
    names = ("id", "status", "by", "recorded_at", "competent", "organisations", "organisation_types")
    names += ("categories", "purposes", "start", "end", "withdraws", "child_id", "authority")
    return tuple((getattr(record, n), getattr(getattr(record, n), "tzinfo", None)) for n in names)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ROWS, min_size=1, max_size=8))
def test_a_remembered_consent_record_is_the_one_built_afresh(rows: list[dict[str, object]]) -> None:
    for row in rows + rows:  # the second pass reads the memo
        assert _fields(to_record(row)) == _fields(_record(row))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(POLICY.organisations)[:12] + ["unknown-org"]), max_size=5))
def test_remembered_viewer_classes_are_the_ones_worked_out_afresh(orgs: list[str]) -> None:
    rules = bundled_rules()
    team = [{"organisation": org} for org in orgs]
    expected = _viewer_classes(POLICY, tuple(sorted(set(orgs))), rules)
    assert viewer_classes(POLICY, team, rules) == expected
    assert viewer_classes(POLICY, list(reversed(team)), rules) == expected
