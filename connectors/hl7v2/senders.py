"""Who sent an HL7 v2 message: MSH-4 looked up in the organisation directory. Pure.

An interface engine names its sending facility in MSH-4 with the organisation's ODS code or a local name
(`NSH-PAS`); the directory lists the values each organisation sends under. The event is attributed to the
organisation's directory code and typed by the directory, so a GP practice is never shown as an acute trust.
A sender the directory does not know is refused: the hub cannot say whose record it is or who may see it.
"""

from __future__ import annotations

from connectors.errors import ConnectorError
from connectors.hl7v2.parse import Header
from consent_engine.directory import Directory, Listing


class UnknownSenderError(ConnectorError):
    """MSH-4 names no organisation in the directory (HL7 AR; the message is dead-lettered)."""

    phase = "sender"


def sender(header: Header, directory: Directory) -> Listing:
    """The directory's listing for the message's MSH-4; raise UnknownSenderError naming MSH-4 if there is none."""
    facility = header.sending_facility
    if not facility:
        raise UnknownSenderError(
            "MSH-4 (sending facility) is empty: the hub identifies HL7 senders by MSH-4 in its organisation directory",
            "MSH-4",
        )
    listing = directory.by_hl7_facility(facility)
    if listing is None:
        raise UnknownSenderError(
            f"unknown sender: MSH-4 sending facility '{facility}' is not in the organisation directory "
            f"(ask the hub operator to add it: onestory orgs add)",
            "MSH-4",
        )
    return listing
