"""Bytes → a structurally checked HL7 v2 message with simple, unescaped field access. Pure.

hl7apy does the structural parse (segment names, versions, delimiters from MSH-1/2); this module adds the
real-world tolerance senders need (BOM, LF or CRLF separators, trailing spaces) and a small read-only view so
mapping code never handles raw delimiters or escapes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from connectors.errors import ParseError

SUPPORTED_VERSIONS = (
    "2.1",
    "2.2",
    "2.3",
    "2.3.1",
    "2.4",
    "2.5",
    "2.5.1",
    "2.6",
    "2.7",
    "2.7.1",
    "2.8",
    "2.8.1",
    "2.8.2",
)


DELIMITER_CHARACTERS = frozenset(string.punctuation)
"""What MSH-1 and MSH-2 may use: the standard |^~\\& or other ASCII punctuation, never letters or digits."""

READ_HERE_ONLY = ("CON",)
"""Segments left out of hl7apy's structural check (it rejects them in versions before they were defined)."""


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass(frozen=True)
class Header:
    """MSH fields needed for routing and the ACK; read even when the rest of the message is broken."""

    delimiters: Delimiters
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    timestamp: str
    message_code: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str
    application_ack_type: str

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger_event}"


@dataclass(frozen=True)
class Segment:
    name: str
    fields: dict[int, tuple[str, ...]]  # field number -> raw repetitions (still escaped)
    delimiters: Delimiters

    def repetitions(self, number: int) -> list[list[str]]:
        """Each repetition as unescaped components (subcomponents kept joined by '&')."""
        d = self.delimiters
        return [[unescape(c, d) for c in rep.split(d.component)] for rep in self.fields.get(number, ()) if rep.strip()]

    def value(self, number: int, component: int = 1, repetition: int = 0) -> str | None:
        reps = self.repetitions(number)
        if repetition >= len(reps) or component > len(reps[repetition]):
            return None
        text = reps[repetition][component - 1].split(self.delimiters.subcomponent)[0].strip()
        return text if text and text != '""' else None


@dataclass(frozen=True)
class Hl7Message:
    header: Header
    segments: tuple[Segment, ...]
    text: str  # normalised ER7 text, CR-separated

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]


_ESCAPES = {"F": "field", "S": "component", "T": "subcomponent", "R": "repetition", "E": "escape"}


def unescape(text: str, d: Delimiters) -> str:
    """HL7 escapes: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, \\.br\\ as a newline, \\Xhh..\\ as bytes; others dropped."""
    if d.escape not in text:
        return text
    esc = re.escape(d.escape)

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in _ESCAPES:
            return str(getattr(d, _ESCAPES[code]))
        if code == ".br":
            return "\n"
        if code.startswith("X") and re.fullmatch(r"X([0-9A-Fa-f]{2})+", code):
            return bytes.fromhex(code[1:]).decode("latin-1")
        return ""  # formatting commands (\H\, \N\, \.sp\ ...) carry no content

    return re.sub(f"{esc}([^{esc}]*){esc}", replace, text)


def normalise(raw: bytes) -> str:
    """Decode and normalise separators; UTF-8 first (with or without BOM), else Windows-1252."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    segments = [seg.rstrip(" \t") for seg in text.split("\r")]
    return "\r".join(seg for seg in segments if seg.strip())


def read_header(text: str) -> Header:
    """MSH by hand (not hl7apy), so an ACK can still be addressed when the body is unparseable."""
    if not text.startswith("MSH") or len(text) < 8:
        raise ParseError("message does not start with an MSH segment", "MSH")
    field_sep = text[3]
    msh = text.split("\r", 1)[0]
    parts = msh.split(field_sep)
    enc = parts[1] if len(parts) > 1 else ""
    if len(enc) < 4 or len(set(enc[:4] + field_sep)) != 5:
        raise ParseError("MSH-2 must hold four distinct encoding characters", "MSH-2")
    if not all(ch in DELIMITER_CHARACTERS for ch in enc[:4] + field_sep):
        # A letter, digit or space as a delimiter makes the message (and an ACK in its delimiters) unreadable.
        raise ParseError("MSH-1 and MSH-2 delimiters must be ASCII punctuation, e.g. |^~\\&", "MSH-2")
    d = Delimiters(field_sep, enc[0], enc[1], enc[2], enc[3])

    def msh_field(n: int, component: int = 1) -> str:
        # parts[0] is "MSH" and parts[1] is MSH-2, so MSH-n is parts[n - 1]
        raw = parts[n - 1] if len(parts) >= n else ""
        first_rep = raw.split(d.repetition)[0]
        comps = first_rep.split(d.component)
        return unescape(comps[component - 1], d).strip() if component <= len(comps) else ""

    return Header(
        delimiters=d,
        sending_application=msh_field(3),
        sending_facility=msh_field(4),
        receiving_application=msh_field(5),
        receiving_facility=msh_field(6),
        timestamp=msh_field(7),
        message_code=msh_field(9, 1),
        trigger_event=msh_field(9, 2),
        control_id=msh_field(10),
        processing_id=msh_field(11),
        version=msh_field(12),
        accept_ack_type=msh_field(15),
        application_ack_type=msh_field(16),
    )


def parse(raw: bytes) -> Hl7Message:
    text = normalise(raw)
    header = read_header(text)
    if not header.control_id:
        raise ParseError("MSH-10 message control id is empty", "MSH-10")
    if not header.message_code or not header.trigger_event:
        raise ParseError("MSH-9 must give a message code and trigger event", "MSH-9")
    if header.version not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported HL7 version {header.version!r} in MSH-12", "MSH-12")
    # CON is read by this module's own view; hl7apy knows it only from v2.5, and senders add it to older feeds.
    checked = "\r".join(seg for seg in text.split("\r") if not seg.startswith(READ_HERE_ONLY))
    try:
        message = parse_message(checked, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    except HL7apyException as exc:
        raise ParseError(f"structurally invalid: {type(exc).__name__}: {str(exc)[:160]}") from exc
    if not message.children:
        raise ParseError("no segments after MSH")
    d = header.delimiters
    segments = []
    for line in text.split("\r"):
        parts = line.split(d.field)
        name = parts[0]
        # MSH-1 is the field separator itself, so MSH field numbers are one ahead of the split index
        offset = 1 if name == "MSH" else 0
        fields = {
            i + offset: (value,) if name == "MSH" and i == 1 else tuple(value.split(d.repetition))
            for i, value in enumerate(parts)
            if i > 0
        }
        segments.append(Segment(name, fields, d))
    return Hl7Message(header=header, segments=tuple(segments), text=text)
