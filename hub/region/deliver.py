"""Sending deliveries the way each agency system does: HL7 over MLLP, everything else over the HTTP intake.

Each HTTP sender uses a system token bound to its own organisation (the intake refuses any other); the
self-referral form is public. School exports can instead be dropped into the education drop folder, as a
nightly MIS job would. The outcome of each request is reported so a caller can see what was refused and why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.hl7v2.mllp_client import ack_code, send_message
from hub.region.story import Delivery
from hub.synth.replay import ROUTES


@dataclass
class Outcome:
    delivery: Delivery
    status: str  # HTTP status code or the HL7 ACK code
    events: list[tuple[str, str]] = field(default_factory=list)  # (event id, kind) as the intake reported them
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ("200", "201", "AA", "CA")


@dataclass(frozen=True)
class Hub:
    """Where a running hub listens, and how a sender gets its system token."""

    api: str
    mllp: tuple[str, int]
    token_for: Callable[[str], str]
    education_drop: Path | None = None


def _problems(body: Any) -> tuple[list[tuple[str, str]], list[str]]:
    if not isinstance(body, dict):
        return [], []
    if "eventIds" in body or "errors" in body:  # the self-referral form's own reply
        kinds = body.get("kinds") or []
        ids = [(str(e), str(kinds[i]) if i < len(kinds) else "") for i, e in enumerate(body.get("eventIds") or [])]
        return ids, [str(e) for e in body.get("errors") or []]
    ids, problems = [], []
    for issue in body.get("issue") or []:
        details = issue.get("details") or {}
        for coding in details.get("coding") or []:
            if coding.get("system") == "urn:onestory:event-id":
                ids.append((str(coding["code"]), str(details.get("text") or "")))
        if issue.get("severity") == "error":
            problems.append(f"{(issue.get('expression') or ['$'])[0]}: {issue.get('diagnostics')}")
    return ids, problems


def deliver(hub: Hub, delivery: Delivery, client: httpx.Client, via_drop: bool = False) -> Outcome:
    if delivery.channel == "mllp":
        ack = send_message(hub.mllp[0], hub.mllp[1], delivery.body, timeout=60)
        return Outcome(delivery, ack_code(ack))
    if via_drop and delivery.channel == "education" and hub.education_drop is not None:
        return _drop(hub.education_drop, delivery)
    headers = {"Content-Type": delivery.content_type}
    if delivery.channel != "self-referral":
        headers["Authorization"] = f"Bearer {hub.token_for(delivery.org)}"
    params = {"type": delivery.record_type} if delivery.record_type else None
    reply = client.post(
        hub.api.rstrip("/") + ROUTES[delivery.channel], content=delivery.body, headers=headers, params=params
    )
    try:
        body = reply.json()
    except ValueError:
        body = None
    ids, problems = _problems(body)
    return Outcome(delivery, str(reply.status_code), ids, problems)


def _drop(folder: Path, delivery: Delivery, timeout: float = 30.0) -> Outcome:
    """Write the export as the MIS job would (a temporary name, then renamed) and wait for the hub's report."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{delivery.org}_{delivery.record_type}_{time.time_ns()}.csv"
    tmp = folder / f".{name}.part"
    tmp.write_bytes(delivery.body)
    tmp.rename(folder / name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for report in folder.glob(f"*/*_{name}.report.json"):
            data = json.loads(report.read_text())
            problems = [f"{i['location']}: {i['reason']}" for i in data["issues"] if i["severity"] == "error"]
            return Outcome(delivery, str(data["status"]), problems=problems)
        time.sleep(0.05)
    return Outcome(delivery, "timeout", problems=["the drop folder did not report on the file"])


def deliver_all(
    hub: Hub, deliveries: Iterable[Delivery], progress: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    outcomes = []
    with httpx.Client(timeout=60) as client:
        for delivery in deliveries:
            outcome = deliver(hub, delivery, client)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    return outcomes
