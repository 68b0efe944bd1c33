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
from connectors.errors import ConnectorError, EventTooLarge, ParseError
from connectors.publisher import Publisher
from hub.kafka.producer import DeliveryError

log = logging.getLogger(__name__)
UNEXPECTED = "unexpected"  # the dead-letter phase of input a connector failed on in a way it did not foresee
NOT_KEPT = "the hub could not keep a copy of this input; the hub logged it for its operators"


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


def unexpected(connector: str, step: str, exc: BaseException) -> tuple[Issue, str]:
    """Log an unexpected exception by type and place only (its message may quote the input), and say so plainly.

    Returns the issue for the sender and the dead letter's reason (which also names the place in the code).

    The last resort behind the typed errors: whatever a sender sends, they get a precise 4xx and the input is kept
    (phase "unexpected") for an engineer to fix the connector and replay it, never a 500.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb is not None else "?"
    log.error(
        "%s intake: unexpected %s while %s, at %s; input kept as a dead letter",
        connector,
        type(exc).__name__,
        step,
        where,
    )
    said = f"the input could not be processed (unexpected {type(exc).__name__} while {step})"
    kept = "it is kept for the hub's operators, who can replay it once the hub is fixed"
    return Issue("$", f"{said}; {kept}", "error", UNEXPECTED), f"$: {said} at {where}"


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
    interactively (the self-referral form): it is answered with every field problem and not kept. Input that does
    not parse at all (no person's form sends that) and an unexpected exception (the hub's fault, not the sender's)
    are kept whatever keep_rejected says.
    """
    try:
        batch = produce()
    except OrganisationMismatch as exc:
        return IntakeReport(403, issues=_issues_of(exc))
    except ConnectorError as exc:
        status = 400 if isinstance(exc, ParseError) else 422
        if not keep_rejected and not isinstance(exc, ParseError):
            return IntakeReport(status, issues=_issues_of(exc))
        return reject_and_keep(publisher, connector, body, content_type, now, status, _issues_of(exc), exc.phase)
    except Exception as exc:  # noqa: BLE001 -- logged by type and kept by unexpected(); never a 500 to the sender
        issue, reason = unexpected(connector, "mapping", exc)
        return reject_and_keep(publisher, connector, body, content_type, now, 422, [issue], UNEXPECTED, reason)
    errors = batch.errors
    if errors and atomic:
        return reject_and_keep(publisher, connector, body, content_type, now, 422, batch.issues, errors[0].phase)
    report = IntakeReport(200, issues=list(batch.issues))
    try:
        if batch.events:
            publisher.publish(batch.events)
            report.accepted = [(e["event_id"], e["kind"]) for e in batch.events]
    except EventTooLarge as exc:
        issues = [Issue("$", exc.reason, "error", exc.phase)]
        return reject_and_keep(publisher, connector, body, content_type, now, 422, issues, exc.phase)
    except DeliveryError as exc:
        log.warning("%s intake could not publish: %s", connector, exc)
        return IntakeReport(
            503,
            issues=[Issue("$", "the hub could not store this durably just now; please resend", "error", "delivery")],
        )
    except Exception as exc:  # noqa: BLE001 -- e.g. an event the broker refuses as too large; logged and kept
        issue, reason = unexpected(connector, "publishing", exc)
        return reject_and_keep(publisher, connector, body, content_type, now, 422, [issue], UNEXPECTED, reason)
    try:
        for issue in errors:
            reason = f"{issue.location}: {issue.reason}"
            row_body = issue.body if issue.body is not None else body
            try:
                dl_id = publisher.dead_letter(
                    connector, issue.phase, reason, row_body, issue.content_type or content_type, now
                )
            except DeliveryError:
                raise
            except Exception as exc:  # noqa: BLE001 -- the good rows are in; say which bad row was not kept
                log.error("%s intake: a rejected row could not be kept (%s)", connector, type(exc).__name__)
                report.issues.append(Issue(issue.location, NOT_KEPT, "error", "delivery"))
                continue
            report.deadletter_ids.append(dl_id)
    except DeliveryError as exc:  # resent, the good rows are absorbed as duplicates and the bad ones kept
        log.warning("%s intake could not keep a rejected row: %s", connector, exc)
        return IntakeReport(
            503,
            issues=[Issue("$", "the hub could not store this durably just now; please resend", "error", "delivery")],
        )
    if errors and not batch.events and report.status == 200:
        report.status = 422
    return report


def reject_and_keep(
    publisher: Publisher,
    connector: str,
    body: bytes,
    content_type: str,
    now: datetime,
    status: int,
    issues: list[Issue],
    phase: str,
    reason: str | None = None,
) -> IntakeReport:
    """Refuse the whole input with `status` and keep it as one dead letter (reason: the first five errors).

    If it cannot be kept: 503 (please resend) when the store is down just now; otherwise the refusal stands, with
    an issue saying the copy was not kept, since resending an input the store cannot take would loop forever.
    """
    errors = [i for i in issues if i.severity == "error"]
    if reason is None:
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
    except Exception as exc:  # noqa: BLE001 -- logged by type; the sender still gets the refusal, not a 500
        log.error(
            "%s intake: a rejected input of %d bytes could not be kept (%s)", connector, len(body), type(exc).__name__
        )
        return IntakeReport(status, issues=[*issues, Issue("$", NOT_KEPT, "error", "delivery")])
    return IntakeReport(status, issues=issues, deadletter_ids=[dl_id])
