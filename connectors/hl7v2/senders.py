"""Who sent an HL7 v2 message: MSH-4 looked up in the organisation directory. Pure.

An interface engine names its sending facility in MSH-4 with the organisation's ODS code or a local name
(`NSH-PAS`); the directory lists the values each organisation sends under. The event is attributed to the
organisation's directory code and typed by the directory, so a GP practice is never shown as an acute trust.
A sender the directory does not know is refused: the hub cannot say whose record it is or who may see it.

MSH-4 is only a claim: anyone who can reach the MLLP port can write any MSH-4. So the directory also lists,
per organisation, the MLLP peers that may send as it (source addresses, TLS client-certificate CNs), and the
intake refuses a message whose connection is not among them (`check_binding`).
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class MllpPeer:
    """Who is at the other end of an MLLP connection: its address and its TLS client certificate's CN."""

    address: str | None
    certificate: str | None = None

    def describe(self) -> str:
        cert = f"client certificate CN '{self.certificate}'" if self.certificate else "no client certificate"
        return f"address {self.address or 'unknown'}, {cert}"


class SenderNotBoundError(ConnectorError):
    """MSH-4 names an organisation this connection may not send for (HL7 AR; dead-lettered and audited)."""

    phase = "sender-binding"


def check_binding(listing: Listing, facility: str, peer: MllpPeer) -> None:
    """Raise SenderNotBoundError unless the directory lists `peer` among the MLLP senders of `listing`."""
    if listing.mllp is not None and listing.mllp.allows(peer.address, peer.certificate):
        return
    why = (
        "lists no MLLP senders for it"
        if listing.mllp is None
        else f"does not list this connection ({peer.describe()}) among its MLLP senders"
    )
    raise SenderNotBoundError(
        f"MSH-4 '{facility}' is not bound to this connection: the organisation directory {why} "
        f"(organisation {listing.code}; ask the hub operator to bind the sender: mllp in the directory)",
        "MSH-4",
    )


@dataclass(frozen=True)
class Refusal:
    """A message refused because its connection may not send as the organisation MSH-4 names (for the audit)."""

    organisation: str
    facility: str
    peer: MllpPeer
    reason: str
    deadletter_id: str | None
