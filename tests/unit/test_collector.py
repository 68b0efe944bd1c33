"""The services' collector settings: start-up objects frozen, young collections far rarer than the default."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.collector import GEN0_THRESHOLD, tune_for_service


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tuning_freezes_what_start_up_loaded_and_raises_the_young_threshold(restored: None) -> None:
    gc.unfreeze()
    _, gen1, gen2 = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    tune_for_service()
    assert gc.get_threshold() == (GEN0_THRESHOLD, gen1, gen2)
    assert gc.get_freeze_count() > 1000, "the modules, schemas and settings loaded so far are frozen"
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1, "cycles made after start-up are still collected"
