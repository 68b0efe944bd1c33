"""Bytes → a structurally checked HL7 v2 message with simple, unescaped field access. Pure.

hl7apy does the structural parse (segment names, versions, delimiters from MSH-1/2); this module adds the
real-world tolerance senders need (BOM, LF or CRLF separators, trailing spaces) and a small read-only view so
mapping code never handles raw delimiters or escapes. hl7apy's verdict is remembered by the message's shape
(structure.py), so a message shaped like one it has accepted is not rebuilt as hl7apy's element tree;
`parse(raw, remembered=False)` asks hl7apy every time, as before, and gives the same result.
"""

from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass

from connectors.errors import ParseError
from connectors.hl7v2 import structure

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
    _read: dict[int, tuple[tuple[str, ...], ...]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )  # field number -> its repetitions as unescaped components, split once (mapping reads a field many times)

    def _components(self, number: int) -> tuple[tuple[str, ...], ...]:
        read = self._read.get(number)
        if read is None:
            d = self.delimiters
            esc, comp = d.escape, d.component
            read = tuple(
                tuple(rep.split(comp)) if esc not in rep else tuple(unescape(c, d) for c in rep.split(comp))
                for rep in self.fields.get(number, ())
                if rep.strip()
            )
            self._read[number] = read
        return read

    def repetitions(self, number: int) -> list[list[str]]:
        """Each repetition as unescaped components (subcomponents kept joined by '&')."""
        return [list(rep) for rep in self._components(number)]

    def value(self, number: int, component: int = 1, repetition: int = 0) -> str | None:
        reps = self._read.get(number)
        if reps is None:
            reps = self._components(number)
        if repetition >= len(reps) or component > len(reps[repetition]):
            return None
        text = reps[repetition][component - 1].split(self.delimiters.subcomponent)[0].strip()
        return text if text and text != '""' else None


@dataclass(frozen=True)
class Hl7Message:
    header: Header
    segments: tuple[Segment, ...]
    text: str  # normalised ER7 text, CR-separated
    _by_name: dict[str, tuple[Segment, ...]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )  # segment name -> its segments in order, built on the first look-up

    def _named(self, name: str) -> tuple[Segment, ...]:
        if not self._by_name:
            index: dict[str, list[Segment]] = {}
            for segment in self.segments:
                index.setdefault(segment.name, []).append(segment)
            self._by_name.update({k: tuple(v) for k, v in index.items()})
        return self._by_name.get(name, ())

    def first(self, name: str) -> Segment | None:
        found = self._named(name)
        return found[0] if found else None

    def all(self, name: str) -> list[Segment]:
        return list(self._named(name))


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


def parse(raw: bytes, *, remembered: bool = True) -> Hl7Message:
    """`remembered=False`: hl7apy parses the whole message even if it has accepted one of the same shape."""
    text = normalise(raw)
    header = read_header(text)
    if not header.control_id:
        raise ParseError("MSH-10 message control id is empty", "MSH-10")
    if not header.message_code or not header.trigger_event:
        raise ParseError("MSH-9 must give a message code and trigger event", "MSH-9")
    if header.version not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported HL7 version {header.version!r} in MSH-12", "MSH-12")
    lines = text.split("\r")
    # CON is read by this module's own view; hl7apy knows it only from v2.5, and senders add it to older feeds.
    kept = [line for line in lines if not line.startswith(READ_HERE_ONLY)]
    checked = text if len(kept) == len(lines) else "\r".join(kept)
    if remembered:
        structure.check(checked)
    else:
        structure.check_in_full(checked)
    d = header.delimiters
    fs, rs = d.field, d.repetition
    segments = []
    for line in lines:
        parts = line.split(fs)
        name = parts[0]
        if name == "MSH":  # MSH-1 is the field separator itself, so MSH-n is parts[n - 1]; MSH-2 never repeats
            fields = {i + 1: (v,) if i == 1 or rs not in v else tuple(v.split(rs)) for i, v in enumerate(parts) if i}
        else:
            fields = {i: (v,) if rs not in v else tuple(v.split(rs)) for i, v in enumerate(parts) if i}
        segments.append(Segment(name, fields, d))
    return Hl7Message(header=header, segments=tuple(segments), text=text)
