"""The intake limits (hub.api.limits) measured without parsing, and the runner's last resort for the unforeseen.

The limit checks must agree with a real JSON parser on what they measure, never recurse, and name the limit and
its setting without quoting the input; the runner must turn any exception a connector raises into a 422 with the
input kept (phase "unexpected") and a log line that carries the exception's type, never its message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.batch import Batch
from connectors.intake_runner import UNEXPECTED, reject_and_keep, run_intake
from connectors.publisher import Publisher
from connectors.self_referral.map import map_form
from hub.api.limits import IntakeLimits, body_breach, json_breach, json_depth, longest_string
from hub.settings import HubSettings
from tests.unit.connectors.fakes import MemoryPublisher

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SECRET = "Amara Okafor 9434765870"


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def longest_in(value: Any) -> int:
    """Longest string (keys too) as json.dumps writes it, between the quotes."""
    if isinstance(value, str):
        return len(json.dumps(value)) - 2
    if isinstance(value, dict):
        return max([longest_in(k) for k in value] + [longest_in(v) for v in value.values()], default=0)
    if isinstance(value, list):
        return max((longest_in(v) for v in value), default=0)
    return 0


documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab"\\{}[]\n é'), max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_depth_and_string_length_agree_with_the_parser(value: Any) -> None:
    body = json.dumps(value).encode()
    assert json_depth(body, give_up_above=1000) == depth_of(value)
    assert longest_string(body) == longest_in(value)


def test_nested_arrays_are_refused_by_depth_before_any_parser_recurses() -> None:
    limits = IntakeLimits()
    for body in (b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000, b"[" * 100_000):
        breach = json_breach(body, limits)
        assert breach is not None and breach.status == 422 and breach.limit == "JSON nesting depth"
        assert "ONESTORY_INTAKE_MAX_JSON_DEPTH" in breach.detail and "64" in breach.detail
    assert json_breach(b"[" * 64 + b"]" * 64, limits) is None
    assert json_breach(b"[" * 65 + b"]" * 65, limits) is not None
    # Not counted: brackets inside strings, escaped quotes included.
    assert json_breach(json.dumps({"note": '["[' * 500}).encode(), limits) is None


def test_long_strings_are_refused_naming_the_limit_not_the_data() -> None:
    limits = IntakeLimits(max_string_bytes=1000)
    patient = {"resourceType": "Patient", "name": [{"family": SECRET * 100}]}
    breach = json_breach(json.dumps(patient).encode(), limits)
    assert breach is not None and breach.status == 422 and breach.limit == "JSON string length"
    assert "ONESTORY_INTAKE_MAX_STRING_BYTES" in breach.detail
    assert SECRET not in breach.detail and SECRET not in breach.reason
    assert json_breach(json.dumps({"k": "x" * 1000}).encode(), limits) is None
    escaped = json.dumps({"k": '"' * 600}).encode()  # 1,200 bytes as sent
    assert longest_string(escaped) == 1200 and json_breach(escaped, limits) is not None


def test_an_oversized_body_is_413_with_its_true_size_when_known() -> None:
    declared = body_breach(10, "ONESTORY_INTAKE_MAX_BODY_BYTES", 10, 19_000_000, False)
    assert declared.status == 413 and "19,000,000 bytes (Content-Length)" in declared.reason
    assert "ONESTORY_INTAKE_MAX_BODY_BYTES" in declared.detail
    chunked = body_breach(1024, "X", 4096, None, True)
    assert "4,096 bytes" in chunked.reason and "1 KB" in chunked.detail
    cut = body_breach(1024, "X", 5000, None, False)
    assert "more than 5,000 bytes" in cut.reason


def test_limits_come_from_the_settings() -> None:
    s = HubSettings(intake_max_body_bytes=5, self_referral_max_body_bytes=6, intake_max_json_depth=7)
    limits = IntakeLimits.from_settings(s)
    assert (limits.max_body_bytes, limits.self_referral_max_body_bytes, limits.max_json_depth) == (5, 6, 7)
    assert IntakeLimits.from_settings(None) == IntakeLimits.from_settings(HubSettings())


def _boom(exc: BaseException) -> Batch:
    raise exc


@pytest.mark.parametrize("exc", [RecursionError("deep"), KeyError(SECRET), TypeError(SECRET), MemoryError()])
def test_an_unexpected_exception_is_a_422_kept_and_logged_by_type(
    exc: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    pub = MemoryPublisher()
    with caplog.at_level(logging.ERROR, logger="connectors.intake_runner"):
        report = run_intake(
            cast(Publisher, pub), "vcse", b'{"x": 1}', "application/json", lambda: _boom(exc), NOW, atomic=False
        )
    assert report.status == 422 and len(report.deadletter_ids) == 1
    assert pub.dead[0]["phase"] == UNEXPECTED and pub.dead[0]["body"] == b'{"x": 1}'
    assert type(exc).__name__ in report.issues[0].reason and SECRET not in report.issues[0].reason
    assert type(exc).__name__ in caplog.text and SECRET not in caplog.text


def test_the_form_keeps_unexpected_and_unparseable_input_but_not_field_problems() -> None:
    pub = MemoryPublisher()

    def form(body: bytes, produce: Callable[[], Batch]) -> int:
        report = run_intake(
            cast(Publisher, pub), "self_referral", body, "application/json", produce, NOW, atomic=True,
            keep_rejected=False,
        )  # fmt: skip
        return report.status

    assert form(b"{}", lambda: _boom(ValueError())) == 422 and len(pub.dead) == 1
    assert form(b"nope", lambda: map_form(b"nope", NOW)) == 400 and len(pub.dead) == 2
    assert form(b"{}", lambda: map_form(b"{}", NOW)) == 422 and len(pub.dead) == 2  # field problems: not kept


class _RefusingStore(MemoryPublisher):
    def dead_letter(self, *args: Any, **kwargs: Any) -> str:
        raise OverflowError("message too large for the store (test)")


def test_a_refusal_stands_when_the_copy_cannot_be_kept(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="connectors.intake_runner"):
        report = reject_and_keep(
            cast(Publisher, _RefusingStore()), "fhir", b"x" * 100, "application/fhir+json", NOW, 413, [], "limit"
        )
    assert report.status == 413 and not report.deadletter_ids
    assert any("could not keep" in i.reason for i in report.issues)
    assert "OverflowError" in caplog.text
