"""What `onestory send` reads: files split into the messages a sender would send, and where each one goes.

Pure apart from reading the files. Every file is read and split before anything is sent, so a wrong path or a
file that is not what its format says stops the run before the hub has seen half of it. Errors name the file
and the line or the reason, never the file's content (test input may be real).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from connectors.education.map import RECORD_TYPES as SCHOOL_TYPES
from connectors.hl7v2.mllp import FrameDecoder
from connectors.social_care.ssda903 import FORMATS as SSDA903_FORMATS

FORMATS = ("hl7", "fhir", "csv", "json")
INTAKES = ("education", "social-care", "vcse", "self-referral")
ROUTES = {
    "fhir": "/intake/fhir",
    "education": "/intake/education",
    "social-care": "/intake/social-care",
    "vcse": "/intake/vcse",
    "self-referral": "/intake/self-referral",
}
# The field that names the sender in each JSON intake's envelope, and so tells the intakes apart.
JSON_ENVELOPE = {
    "school_urn": "education",
    "la_code": "social-care",
    "organisation": "vcse",
    "requester": "self-referral",
}
_BATCH_SEGMENTS = (b"FHS", b"BHS", b"BTS", b"FTS")  # HL7 batch envelope: not messages, not sent
_SEGMENT_BREAK = re.compile(rb"\r\n|\r|\n")


class InputError(Exception):
    """A file cannot be sent as asked (unreadable, empty, not the format given): the run stops before sending."""


@dataclass(frozen=True)
class Message:
    """One request or one MLLP frame, as its sender would send it."""

    file: Path
    index: int  # 1-based within the file
    count: int  # messages in the file
    body: bytes
    intake: str  # hl7, fhir, education, social-care, vcse, self-referral
    org: str | None = None  # the sending organisation, where the file says it (HTTP intake's token)
    record_type: str | None = None  # education CSV record type or SSDA903 format

    @property
    def label(self) -> str:
        return f"{self.file}" if self.count == 1 else f"{self.file} #{self.index}"

    @property
    def content_type(self) -> str:
        if self.intake == "fhir":
            return "application/fhir+json"
        return "text/csv" if self.record_type else "application/json"

    @property
    def params(self) -> dict[str, str]:
        if self.record_type is None:
            return {}
        return {"format" if self.intake == "social-care" else "type": self.record_type}


def read_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if not data.strip():
        raise InputError(f"{path} is empty")
    return data


def messages(fmt: str, path: Path, intake: str | None, record_type: str | None) -> list[Message]:
    """The messages in one file, in sending order."""
    data = read_file(path)
    if fmt == "hl7":
        return _numbered(path, [(body, "hl7", None, None) for body in hl7_messages(path, data)])
    if fmt == "fhir":
        return _numbered(path, [(body, "fhir", None, None) for body in _json_documents(path, data, strict=False)])
    if fmt == "csv":
        return _numbered(path, [_csv(path, data, intake or "education", record_type)])
    return _numbered(path, [_json(path, body, intake) for body in _json_documents(path, data, strict=intake is None)])


def _numbered(path: Path, parts: list[tuple[bytes, str, str | None, str | None]]) -> list[Message]:
    return [
        Message(path, i, len(parts), body, where, org, rtype) for i, (body, where, org, rtype) in enumerate(parts, 1)
    ]


def hl7_messages(path: Path, data: bytes) -> list[bytes]:
    """MLLP-framed files as framed; otherwise segments split at CR, LF or CRLF, a new message at each MSH."""
    if data.lstrip()[:1] == b"\x0b":
        try:
            framed = FrameDecoder().feed(data)
        except ValueError as exc:
            raise InputError(f"{path}: not a well-framed MLLP file ({exc})") from None
        if not framed:
            raise InputError(f"{path}: no complete MLLP frame")
        return framed
    found: list[list[bytes]] = []
    for number, segment in enumerate(_SEGMENT_BREAK.split(data.removeprefix(b"\xef\xbb\xbf")), 1):
        segment = segment.rstrip(b" \t")
        if not segment.strip() or segment[:3] in _BATCH_SEGMENTS:
            continue
        if segment.startswith(b"MSH"):
            found.append([segment])
        elif not found:
            raise InputError(f"{path}: line {number} comes before any MSH segment; is this an HL7 v2 file?")
        else:
            found[-1].append(segment)
    if not found:
        raise InputError(f"{path}: no HL7 v2 message (no MSH segment)")
    return [b"\r".join(segments) for segments in found]


def _json_documents(path: Path, data: bytes, strict: bool) -> list[bytes]:
    """One JSON document, or one per line (NDJSON). Not JSON at all: the bytes as they are, unless `strict`."""
    try:
        json.loads(data)
        return [data]
    except ValueError:
        pass
    lines = [line for line in data.splitlines() if line.strip()]
    try:
        for line in lines:
            json.loads(line)
    except ValueError:
        if strict:
            raise InputError(
                f"{path} is not JSON (nor one JSON document per line); give --intake to send it as it is"
            ) from None
        return [data]  # the hub says what is wrong with it
    return lines


def _json(path: Path, body: bytes, intake: str | None) -> tuple[bytes, str, str | None, str | None]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    fields = document if isinstance(document, dict) else {}
    if intake is None:
        if "resourceType" in fields:
            raise InputError(f"{path} is a FHIR resource: send it with `onestory send fhir`")
        found = [JSON_ENVELOPE[f] for f in JSON_ENVELOPE if f in fields]
        if len(found) != 1:
            raise InputError(
                f"{path}: cannot tell which intake it is for (no single one of the fields "
                f"{', '.join(JSON_ENVELOPE)}); give --intake {'|'.join(INTAKES)}"
            )
        intake = found[0]
    org_field = next((f for f, i in JSON_ENVELOPE.items() if i == intake and f != "requester"), None)
    org = fields.get(org_field) if org_field else None
    return body, intake, str(org) if isinstance(org, str | int) and org else None, None


def _csv(path: Path, data: bytes, intake: str, record_type: str | None) -> tuple[bytes, str, str | None, str | None]:
    if intake not in ("education", "social-care"):
        raise InputError(f"CSV goes to the education or social-care intake, not {intake}")
    allowed = SCHOOL_TYPES if intake == "education" else SSDA903_FORMATS
    if record_type is None:
        stem = path.stem.lower()
        named = [t for t in allowed if re.search(rf"(^|[_\-.\s]){re.escape(t)}($|[_\-.\s])", stem)]
        if len(named) != 1:
            raise InputError(
                f"{path}: say which {'record type' if intake == 'education' else 'SSDA903 return'} it holds with "
                f"--type ({', '.join(allowed)}) or in the file name, e.g. 100001_attendance.csv"
            )
        record_type = named[0]
    org = _csv_org(data, ("urn", "schoolurn") if intake == "education" else ("lacode", "la"))
    if org is None and intake == "education":
        head = path.name.split("_", 1)[0]
        org = head if "_" in path.name and head.isalnum() and not head.isalpha() else None
    return data, intake, org, record_type


def _csv_org(data: bytes, columns: tuple[str, ...]) -> str | None:
    """The organisation column of the first row, if the export has one."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        rows = csv.reader(io.StringIO(text))
        header = [re.sub(r"[^a-z0-9]", "", h.lower()) for h in next(rows, [])]
        first = next(rows, [])
    except csv.Error:
        return None
    for name in columns:
        if name in header and header.index(name) < len(first) and first[header.index(name)].strip():
            return first[header.index(name)].strip()
    return None
