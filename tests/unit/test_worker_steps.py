"""Which hot-path steps a worker runs: all by default, any subset when they are split over processes."""

from __future__ import annotations

from typing import Any, cast

import click
import pytest

from hub.commands.worker import step_names
from hub.kafka.topics import EVENTS, INTAKE
from hub.outbound.config import OutboundConfig
from hub.settings import OutboundSettings
from hub.worker.app import WorkerDeps
from hub.worker.hot_path import steps_for

DEPS = cast(WorkerDeps, None)  # building a step only captures its dependencies


def never() -> bool:
    return False


def chosen(names: tuple[str, ...], outbound: Any = "config") -> list[tuple[str, str]]:
    config = OutboundConfig.load(OutboundSettings()) if outbound == "config" else outbound
    return [(s.name, s.topic) for s in steps_for(names, DEPS, never, config)]


def test_all_steps_put_the_feeds_on_the_projection_thread() -> None:
    assert chosen(("identity", "timeline", "outbound")) == [("identity", INTAKE), ("timeline", EVENTS)]


def test_outbound_alone_is_a_step_of_its_own_on_the_events_topic() -> None:
    assert chosen(("outbound",)) == [("outbound", EVENTS)]
    assert chosen(("identity",)) == [("identity", INTAKE)]
    assert chosen(("timeline",)) == [("timeline", EVENTS)]


def test_without_an_outbound_config_no_feed_step_runs() -> None:
    assert chosen(("outbound",), outbound=None) == []


def test_unknown_or_no_steps_are_refused() -> None:
    with pytest.raises(ValueError, match="projector"):
        steps_for(("projector",), DEPS, never, None)
    with pytest.raises(click.UsageError, match="choose one or more of identity,timeline,outbound"):
        step_names("identity,feeds")
    with pytest.raises(click.UsageError):
        step_names(" , ")
    assert step_names(" identity , timeline ") == ("identity", "timeline")
