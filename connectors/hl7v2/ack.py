"""ACK construction (pure). MSA-2 echoes MSH-10; sender and receiver swap; ERR says what was wrong."""

from __future__ import annotations

from datetime import datetime

from connectors.hl7v2.parse import Delimiters, Header

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
_ENHANCED = {"AA": "CA", "AE": "CE", "AR": "CR"}
_HL7_ERROR_CODE = {"AE": ("207", "Application internal error"), "AR": ("100", "Segment sequence error")}


def _escape(text: str, d: Delimiters) -> str:
    text = text.replace(d.escape, f"{d.escape}E{d.escape}")
    for ch, code in ((d.field, "F"), (d.component, "S"), (d.subcomponent, "T"), (d.repetition, "R")):
        text = text.replace(ch, f"{d.escape}{code}{d.escape}")
    return text.replace("\r", " ").replace("\n", " ")


def build_ack(
    header: Header | None,
    code: str,
    now: datetime,
    control_id: str,
    reason: str | None = None,
    location: str | None = None,
    condition: tuple[str, str] | None = None,
) -> bytes:
    """An ACK in the sender's own delimiters and version (or defaults if the MSH itself was unreadable).

    `condition`: the HL7 table 0357 code and text for ERR-3, when it is more precise than the default for
    the ACK code (e.g. 104 "Value too long" for a message over the hub's limits).
    """
    d = header.delimiters if header else Delimiters()
    enc = d.component + d.repetition + d.escape + d.subcomponent
    enhanced = bool(header and header.accept_ack_type)
    ack_code = _ENHANCED[code] if enhanced else code
    fields = [
        "MSH",
        enc,
        _escape(header.receiving_application, d) if header else "ONESTORY",
        _escape(header.receiving_facility, d) if header else "ONESTORY",
        _escape(header.sending_application, d) if header else "",
        _escape(header.sending_facility, d) if header else "",
        now.strftime("%Y%m%d%H%M%S"),
        "",
        f"ACK{d.component}{_escape(header.trigger_event, d) if header else ''}{d.component}ACK",
        control_id,
        _escape(header.processing_id, d) if header and header.processing_id else "P",
        _escape(header.version, d) if header and header.version else "2.4",
    ]
    segments = [d.field.join(fields), d.field.join(["MSA", ack_code, _escape(header.control_id if header else "", d)])]
    if code != ACCEPT and reason:
        err_code, err_text = condition or _HL7_ERROR_CODE[code]
        where = _escape(location or "", d)
        segments.append(
            d.field.join(
                [
                    "ERR",
                    "",
                    where,
                    f"{err_code}{d.component}{err_text}{d.component}HL70357",
                    "E",
                    "",
                    "",
                    "",
                    _escape(reason, d),
                ]
            )
        )
    return ("\r".join(segments) + "\r").encode("utf-8")
