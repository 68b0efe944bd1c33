"""The one place that turns a pure connector's result into published events, dead letters and an HTTP-ish status.

Transport-neutral, so the HTTP routes, the drop-folder watcher and `onestory deadletter replay` all behave the
same: nothing is accepted unless it is durably published, and nothing rejected is lost (it is dead-lettered
with its reason, row by row where the source is row-oriented).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from connectors.batch import Batch, Issue, OrganisationMismatch
from connectors.errors import ConnectorError, ParseError
from connectors.publisher import Publisher
from hub.kafka.producer import DeliveryError

log = logging.getLogger(__name__)


@dataclass
class IntakeReport:
    """What happened to one request: status 200 / 400 / 403 / 422 / 503, accepted events and every issue."""

    status: int
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (event id, kind)
    issues: list[Issue] = field(default_factory=list)
    deadletter_ids: list[str] = field(default_factory=list)


def _issues_of(exc: ConnectorError) -> list[Issue]:
    many = getattr(exc, "issues", None)
    if many:
        return [Issue(loc, msg, "error", exc.phase) for loc, msg in many]
    return [Issue(exc.location or "$", exc.reason, "error", exc.phase)]


def run_intake(
    publisher: Publisher,
    connector: str,
    body: bytes,
    content_type: str,
    produce: Callable[[], Batch],
    now: datetime,
    *,
    atomic: bool,
    keep_rejected: bool = True,
) -> IntakeReport:
    """Run a pure connector (`produce`) and deliver its result.

    atomic: one bad part rejects the whole input (FHIR Bundle); otherwise good rows go in and each bad row is
    dead-lettered on its own (school MIS export). keep_rejected=False is only for input a person is correcting
    interactively (the self-referral form): it is answered with every field problem and not kept.
    """
    try:
        batch = produce()
    except OrganisationMismatch as exc:
        return IntakeReport(403, issues=_issues_of(exc))
    except ConnectorError as exc:
        status = 400 if isinstance(exc, ParseError) else 422
        if not keep_rejected:
            return IntakeReport(status, issues=_issues_of(exc))
        return _keep_whole(publisher, connector, body, content_type, now, status, _issues_of(exc), exc.phase)
    errors = batch.errors
    if errors and atomic:
        return _keep_whole(publisher, connector, body, content_type, now, 422, batch.issues, errors[0].phase)
    report = IntakeReport(200, issues=list(batch.issues))
    try:
        if batch.events:
            publisher.publish(batch.events)
            report.accepted = [(e["event_id"], e["kind"]) for e in batch.events]
        for issue in errors:
            reason = f"{issue.location}: {issue.reason}"
            report.deadletter_ids.append(
                publisher.dead_letter(
                    connector,
                    issue.phase,
                    reason,
                    issue.body if issue.body is not None else body,
                    issue.content_type or content_type,
                    now,
                )
            )
    except DeliveryError as exc:
        log.warning("%s intake could not publish: %s", connector, exc)
        return IntakeReport(
            503,
            issues=[Issue("$", "the hub could not store this durably just now; please resend", "error", "delivery")],
        )
    if errors and not batch.events:
        report.status = 422
    return report


def _keep_whole(
    publisher: Publisher,
    connector: str,
    body: bytes,
    content_type: str,
    now: datetime,
    status: int,
    issues: list[Issue],
    phase: str,
) -> IntakeReport:
    errors = [i for i in issues if i.severity == "error"]
    reason = "; ".join(f"{i.location}: {i.reason}" for i in errors[:5])
    if len(errors) > 5:
        reason += f"; and {len(errors) - 5} more"
    try:
        dl_id = publisher.dead_letter(connector, phase, reason, body, content_type, now)
    except DeliveryError as exc:
        log.warning("%s dead-letter publish failed: %s", connector, exc)
        return IntakeReport(
            503, issues=[*issues, Issue("$", "the hub could not keep this input; please resend", "error", "delivery")]
        )
    return IntakeReport(status, issues=issues, deadletter_ids=[dl_id])
