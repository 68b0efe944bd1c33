"""What the hub answered `onestory send`: an ACK or an intake reply, as one line (or one JSON object) per message.

Only what the hub said is shown (its reasons never quote the input), with the ids the sender gave (MSH-9 and
MSH-10, a self-referral's receipt) and the accepted events' ids and kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hub.commands.send_inputs import Message

EVENT_ID_SYSTEM = "urn:onestory:event-id"
_DEAD_LETTER = re.compile(r"dead letter (\S+)$")


@dataclass
class Answer:
    """What the hub said to one message."""

    message: Message
    status: str  # ACK code (AA, AE, AR, CA, ...) or HTTP status
    accepted: bool
    events: list[tuple[str, str]] = field(default_factory=list)  # (event id, kind), HTTP intake only
    problems: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    what: str = ""  # HL7: MSH-9 and MSH-10

    def line(self) -> str:
        parts = [f"{self.message.label}{' ' + self.what if self.what else ''}: {self.status}"]
        if self.events:
            kinds: dict[str, int] = {}
            for _, kind in self.events:
                if kind:
                    kinds[kind] = kinds.get(kind, 0) + 1
            listed = " (" + ", ".join(k if n == 1 else f"{k} ×{n}" for k, n in kinds.items()) + ")" if kinds else ""
            parts.append(f"accepted {len(self.events)} event{'s' if len(self.events) != 1 else ''}{listed}")
        if self.problems:
            parts.append("refused: " + "; ".join(self.problems))
        if self.dead_letters:
            parts.append(f"kept as dead letter {', '.join(self.dead_letters)}")
        return " ".join(parts[:1]) + (" " + " | ".join(parts[1:]) if len(parts) > 1 else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.message.file),
            "item": self.message.index,
            "intake": self.message.intake,
            "status": self.status,
            "accepted": self.accepted,
            "message": self.what or None,
            "events": [{"id": i, "kind": k} for i, k in self.events],
            "problems": self.problems,
            "dead_letters": self.dead_letters,
        }


def ack_answer(message: Message, ack: bytes, what: str) -> Answer:
    """MSA-1 as the status; MSA-3 and each ERR's location (ERR-2) and user message (ERR-8) as the reason."""
    from connectors.hl7v2.parse import normalise, read_header, unescape

    text = normalise(ack)
    header = read_header(text)
    d = header.delimiters
    code, problems = "?", []
    for segment in text.split("\r"):
        fields = segment.split(d.field)
        if fields[0] == "MSA":
            code = fields[1] if len(fields) > 1 else "?"
            if len(fields) > 3 and fields[3]:
                problems.append(unescape(fields[3], d))
        elif fields[0] == "ERR":
            where = unescape(fields[2], d) if len(fields) > 2 else ""
            reason = unescape(fields[8], d) if len(fields) > 8 else ""
            if reason:
                problems.append(f"{where}: {reason}" if where and not reason.startswith(where) else reason)
    return Answer(message, code, code in ("AA", "CA"), problems=problems, what=what)


def describe(body: bytes) -> str:
    """MSH-9 and MSH-10 of a message, for its line: ids the sender gave, nothing about the patient."""
    from connectors.hl7v2.parse import normalise, read_header

    try:
        header = read_header(normalise(body))
    except Exception:  # noqa: BLE001 - an unreadable MSH is the hub's to refuse; the line says so
        return "(unreadable MSH)"
    return f"{header.message_type} {header.control_id}".strip()


def http_answer(message: Message, status: int, body: Any) -> Answer:
    """An intake OperationOutcome, the self-referral form's reply, or problem JSON, as one Answer."""
    answer = Answer(message, str(status), 200 <= status < 300)
    if not isinstance(body, dict):
        if not answer.accepted:
            answer.problems.append("the hub's answer was not JSON")
        return answer
    if "eventIds" in body or "errors" in body:  # the self-referral form's reply
        answer.events = [(str(e), "") for e in body.get("eventIds") or []]
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                answer.problems.append(f"{error.get('field')}: {error.get('message')}")
        if body.get("receipt"):
            answer.what = f"receipt {body['receipt']}"
    elif body.get("resourceType") == "OperationOutcome":
        for issue in body.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            details = issue.get("details") or {}
            for coding in details.get("coding") or []:
                if coding.get("system") == EVENT_ID_SYSTEM:
                    answer.events.append((str(coding.get("code")), str(details.get("text") or "")))
            diagnostics = str(issue.get("diagnostics") or "")
            if issue.get("severity") in ("error", "fatal"):
                where = (issue.get("expression") or [None])[0]
                answer.problems.append(f"{where}: {diagnostics}" if where else diagnostics)
            elif (kept := _DEAD_LETTER.search(diagnostics)) is not None:
                answer.dead_letters.append(kept[1])
    elif body.get("detail"):  # problem JSON: 400, 401, 403, 413, 503
        answer.problems.append(str(body["detail"]))
    if answer.problems:
        answer.accepted = False
    return answer
