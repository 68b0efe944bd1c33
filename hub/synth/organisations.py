"""The synthetic region's organisations: the directory organisation each record organisation sends as.

records.py names organisations by kind and number (``GP012``, ``SCHOOL207``); senders identify themselves
with organisations of the bundled organisation directory (consent_engine/policies/organisations.yaml: ODS
codes for NHS bodies, six-digit URNs for schools, the LA code for the council, charity numbers for VCSE), so
that what `onestory synth` writes is accepted, typed and shared by a hub running the default directory and
policy. Record organisations of one kind share the directory's organisations of that type round-robin (the
region has more records than the directory has practices). Total: every record organisation has one code.
"""

from __future__ import annotations

from dataclasses import dataclass

from consent_engine.directory import Directory, Listing
from hub.directory_file import load_directory

# records.py kind -> organisation type as the consent engine and the self-referral page name them
ORGANISATION_TYPES = {
    "gp": "gp-practice",
    "school": "school",
    "camhs": "camhs",
    "acute": "acute-trust",
    "council": "local-authority",
    "vcse": "vcse",
}


@dataclass(frozen=True)
class Organisation:
    record_org: str  # as records.py names it, e.g. GP012
    kind: str  # gp | school | camhs | acute | council | vcse
    code: str  # what the sender puts in MSH-4, its token and its files
    name: str
    type: str

    def as_json(self) -> dict[str, str]:
        return {
            "record_org": self.record_org,
            "kind": self.kind,
            "code": self.code,
            "name": self.name,
            "type": self.type,
        }


class Organisations:
    """The directory organisation behind each records.py organisation name, from one directory."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._listings: dict[str, tuple[Listing, ...]] = {}

    def _of_type(self, org_type: str) -> tuple[Listing, ...]:
        if org_type not in self._listings:
            listings = self.directory.of_type(org_type)
            if not listings:
                raise ValueError(f"the organisation directory has no {org_type} organisation for synth")
            self._listings[org_type] = listings
        return self._listings[org_type]

    def __call__(self, record_org: str) -> Organisation:
        kind = record_org.rstrip("0123456789").lower()
        if kind not in ORGANISATION_TYPES:
            raise ValueError(f"unknown organisation kind in {record_org!r}")
        n = int(record_org[len(kind) :])
        listings = self._of_type(ORGANISATION_TYPES[kind])
        listing = listings[n % len(listings)]
        return Organisation(record_org, kind, listing.code, listing.name, listing.type)


def organisation(record_org: str, directory: Directory | None = None) -> Organisation:
    """The directory organisation behind a records.py organisation name (the bundled directory by default)."""
    return Organisations(directory or load_directory())(record_org)
