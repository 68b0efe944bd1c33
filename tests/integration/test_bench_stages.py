"""`onestory bench pipeline --stages`: the worker's steps run in process on a tiny region, every step is
counted, and the profile names the step's own functions. Speed is not asserted here."""

from __future__ import annotations

import pytest

from hub.bench import stage_profile
from hub.settings import OutboundSettings

pytestmark = pytest.mark.integration


def test_every_step_is_measured_after_the_warm_rounds_and_profiled_on_request() -> None:
    figures = stage_profile.run(
        OutboundSettings(), children=30, rounds=4, warm_rounds=2, profile="projection", batch_size=30
    )
    assert figures["events"] == 120 and figures["counted_events"] == 60
    assert set(figures["cpu_us_per_event"]) == set(stage_profile.STEPS)
    assert all(v > 0 for k, v in figures["cpu_us_per_event"].items() if k != "decode")
    assert "project_batch" in figures["profile"]
