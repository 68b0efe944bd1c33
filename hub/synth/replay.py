"""Reading a written sources/ folder back as the requests each sender would make, and replaying them.

`requests` splits the files the way their senders send them (an MLLP frame per HL7 message, a FHIR request
or a self-referral form per line, a whole CSV or JSON export per request). `run_pure` puts every request
through the connectors' own pure functions (connectors.registry, the same code the HTTP routes and the MLLP
listener run) and reports what they accepted and refused; `send` replays them into a running hub.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.errors import ConnectorError
from connectors.hl7v2.mllp import FrameDecoder

CONNECTOR = {
    "hl7v2": "hl7v2",
    "fhir": "fhir",
    "education": "education",
    "social-care": "social_care",
    "vcse": "vcse",
    "self-referral": "self_referral",
}
ROUTES = {
    "fhir": "/intake/fhir",
    "education": "/intake/education",
    "social-care": "/intake/social-care",
    "vcse": "/intake/vcse",
    "self-referral": "/intake/self-referral",
}


@dataclass(frozen=True)
class Request:
    source: str  # sources/ folder: hl7v2, fhir, education, social-care, vcse, self-referral
    file: str  # path under sources/
    item: int  # index in the file of the first item it carries
    org: str  # the sending organisation (the token's)
    body: bytes
    record_type: str | None = None  # education CSV: pupils, attendance, ...

    @property
    def content_type(self) -> str:
        """As the transport records it for the pure connector (and dead letters)."""
        if self.source == "education":
            return f"text/csv; type={self.record_type}; org={self.org}"
        if self.source == "fhir":
            return f"application/fhir+json; org={self.org}"
        return f"application/json; org={self.org}"

    @property
    def http_content_type(self) -> str:
        return {"education": "text/csv", "fhir": "application/fhir+json"}.get(self.source, "application/json")


def requests(root: Path) -> Iterator[Request]:
    """Every request in a sources/ folder, file by file in name order, each file in its sending order."""
    files = json.loads((root / "manifest.json").read_text())["files"]
    for path in sorted(files):
        org = files[path]["org"]
        source = path.split("/", 1)[0]
        data = (root / path).read_bytes()
        if source == "hl7v2":
            for i, message in enumerate(FrameDecoder().feed(data)):
                yield Request(source, path, i, org, message)
        elif source in ("fhir", "self-referral"):
            for i, line in enumerate(data.splitlines()):
                yield Request(source, path, i, org, line)
        elif source == "education":
            rtype = path.rsplit("-", 1)[1].removesuffix(".csv")
            yield Request(source, path, 0, org, data, rtype)
        else:
            yield Request(source, path, 0, org, data)


_ROW = re.compile(r"^row (\d+),")
_RECORD = re.compile(r"^records\[(\d+)\]")


def item_of(request: Request, location: str) -> int:
    """The item a row-oriented connector's error location points at (row 1 of a CSV is the header)."""
    if (m := _ROW.match(location)) is not None:
        return int(m[1]) - 2
    if (m := _RECORD.match(location)) is not None:
        return int(m[1])
    return request.item


@dataclass
class PureResult:
    events: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    rejections: list[dict[str, Any]] = field(default_factory=list)
    event_ids: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (file, item) -> event ids


def run_pure(root: Path, now: datetime) -> PureResult:
    """Every request through the connector's pure parse + map (no broker, no HTTP); nothing is published."""
    from connectors.registry import replayers  # the connectors import hub.events; keep `synth` import-light
    from hub.directory_file import bundled_directory

    intakes = replayers(bundled_directory())  # the synthetic region's senders are in the bundled directory
    result = PureResult()
    for request in requests(root):
        produce = intakes[CONNECTOR[request.source]]
        try:
            batch = produce(request.body, request.content_type, now)
        except ConnectorError as exc:
            issues = getattr(exc, "issues", None) or [(exc.location or "$", exc.reason)]
            for loc, reason in issues:
                result.rejections.append(
                    {"file": request.file, "item": request.item, "location": loc, "reason": reason}
                )
            continue
        for issue in batch.errors:
            result.rejections.append(
                {
                    "file": request.file,
                    "item": item_of(request, issue.location),
                    "location": issue.location,
                    "reason": issue.reason,
                }
            )
        if batch.errors and request.source == "fhir":
            continue  # all or nothing
        for event in batch.events:
            result.events[request.source][event["kind"]] += 1
        result.event_ids[(request.file, request.item)] = [e["event_id"] for e in batch.events]
    result.rejections.sort(key=lambda r: (r["file"], r["item"], r["location"]))
    return result


@dataclass
class SendReport:
    sent: Counter[str] = field(default_factory=Counter)  # requests per source
    accepted: Counter[str] = field(default_factory=Counter)  # events per source
    refused: Counter[str] = field(default_factory=Counter)  # requests (HL7 AE/AR, HTTP 4xx) or rows per source
    event_ids: dict[tuple[str, int], list[str]] = field(default_factory=dict)


def send(
    root: Path,
    api: str | None,
    mllp: tuple[str, int] | None,
    token_for: Callable[[str], str],
    on_request: Callable[[Request], None] | None = None,
) -> SendReport:
    """Replay a sources/ folder into a running hub: HL7 over MLLP (waiting for each ACK), the rest over HTTP.

    `token_for(org)` gives a system token bound to that organisation (intake refuses any other). Sources
    whose transport is not given are skipped.
    """
    import httpx

    from connectors.hl7v2.mllp_client import ack_code, send_message

    report = SendReport()
    with httpx.Client(timeout=120) as client:
        for request in requests(root):
            if on_request:
                on_request(request)
            if request.source == "hl7v2":
                if mllp is None:
                    continue
                code = ack_code(send_message(mllp[0], mllp[1], request.body, timeout=60))
                report.sent["hl7v2"] += 1
                if code in ("AA", "CA"):
                    report.accepted["hl7v2"] += 1
                else:
                    report.refused["hl7v2"] += 1
                continue
            if api is None:
                continue
            headers = {"Content-Type": request.http_content_type}
            if request.source != "self-referral":
                headers["Authorization"] = f"Bearer {token_for(request.org)}"
            params = {"type": request.record_type} if request.record_type else None
            url = api.rstrip("/") + ROUTES[request.source]
            reply = client.post(url, content=request.body, headers=headers, params=params)
            report.sent[request.source] += 1
            ids, refused = _outcome(reply)
            report.event_ids[(request.file, request.item)] = ids
            report.accepted[request.source] += len(ids)
            report.refused[request.source] += refused
    return report


def _outcome(reply: Any) -> tuple[list[str], int]:
    """Accepted event ids and the number of refused parts, from an intake OperationOutcome or the form's reply."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return [], 0 if reply.is_success else 1
    if "eventIds" in body or "errors" in body:  # the self-referral page's own reply
        return [str(e) for e in body.get("eventIds") or []], len(body.get("errors") or [])
    issues = [i for i in body.get("issue") or [] if isinstance(i, dict)]
    ids = [
        c["code"]
        for i in issues
        for c in (i.get("details") or {}).get("coding", [])
        if c.get("system") == "urn:onestory:event-id"
    ]
    errors = sum(1 for i in issues if i.get("severity") == "error")
    return ids, errors if errors or reply.is_success else 1
