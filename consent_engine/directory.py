"""The organisation directory: who takes part, under which national code, of which type, and how they send.

The directory is data the operator maintains (`onestory orgs`), separate from the data-sharing policy: the
policy's rules speak of organisation types and roles, the directory says which organisation is of which type.
Each organisation is listed under its code in its real code system (ODS for NHS bodies, DfE URN for schools,
the LA code for councils, the Charity Commission number for VCSE), with the HL7 v2 sending-facility values
(MSH-4) that identify it, so that an HL7 sender is typed by the directory and an unknown one is refused, and
the MLLP peers allowed to send as it (`mllp`: source addresses or networks, TLS client-certificate CNs), so
that whoever can reach the MLLP port cannot send as any organisation.

Pure, like the rest of consent_engine: `Directory.parse` reads YAML text; the hub reads the file.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field

import yaml

from consent_engine.policy_spec import Problem

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
URN = "https://fhir.hl7.org.uk/Id/urn-school-number"
LA_CODE = "urn:onestory:code-system:dfe-la-code"
CHARITY = "urn:onestory:code-system:charity-commission-number"
LOCAL = "urn:onestory:code-system:local"


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """A code system an organisation may be listed under, with the short name operators type and its format."""

    uri: str
    alias: str
    title: str
    pattern: str
    rule: str

    def valid(self, code: str) -> bool:
        return re.fullmatch(self.pattern, code) is not None


CODE_SYSTEMS: tuple[CodeSystem, ...] = (
    CodeSystem(ODS, "ods", "NHS ODS code", r"[A-Z0-9]{3,6}", "3 to 6 capital letters or digits"),
    CodeSystem(URN, "urn", "DfE school URN", r"[0-9]{6}", "6 digits"),
    CodeSystem(LA_CODE, "la", "DfE local-authority code", r"[0-9]{3}", "3 digits"),
    CodeSystem(CHARITY, "charity", "Charity Commission number", r"[0-9]{6,8}", "6 to 8 digits"),
    CodeSystem(LOCAL, "local", "code assigned by the hub", r"[A-Z][A-Z0-9-]{1,19}", "2 to 20 capitals, digits or '-'"),
)
_SYSTEMS = {s.uri: s for s in CODE_SYSTEMS} | {s.alias: s for s in CODE_SYSTEMS}
_KEYS = ("code", "code_system", "type", "name", "contact", "hl7_facilities", "mllp")
_MLLP_KEYS = ("addresses", "certificates")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Fail = Callable[[yaml.Node, str], None]


def code_system(name: str) -> CodeSystem | None:
    """The code system named by its URI or short alias (ods, urn, la, charity, local)."""
    return _SYSTEMS.get(name.strip())


def facility_key(msh4: str) -> str:
    """MSH-4 as compared: case and surrounding spaces do not distinguish senders."""
    return msh4.strip().upper()


@dataclass(frozen=True, slots=True)
class MllpPeers:
    """Who may send HL7 v2 over MLLP as an organisation. Each kind listed must match (both: both must).

    `addresses`: IP addresses or networks (CIDR) the connection may come from; `certificates`: subject CNs
    of the TLS client certificates it may present (compared without regard to case).
    """

    addresses: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()

    def allows(self, address: str | None, certificate: str | None) -> bool:
        """Whether a connection from `address` presenting a certificate with CN `certificate` may send."""
        if not self.addresses and not self.certificates:
            return False
        if self.addresses and not _in_networks(address, self.addresses):
            return False
        if self.certificates:
            return certificate is not None and certificate.casefold() in {c.casefold() for c in self.certificates}
        return True

    def as_mapping(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if self.addresses:
            out["addresses"] = list(self.addresses)
        if self.certificates:
            out["certificates"] = list(self.certificates)
        return out


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _in_networks(address: str | None, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d
    return any(ip in net for net in map(_network, networks) if net is not None and net.version == ip.version)


@dataclass(frozen=True, slots=True)
class Listing:
    """One participating organisation as the directory lists it."""

    code: str
    code_system: str
    type: str
    name: str
    contact: str = ""
    hl7_facilities: tuple[str, ...] = ()
    mllp: MllpPeers | None = None
    """The MLLP peers that may send as it; None: none listed (refused when the hub enforces sender binding)."""
    line: int = field(default=0, compare=False)
    """Where it is listed in the directory file (1-based), for messages."""

    def as_mapping(self) -> dict[str, object]:
        """As written in a directory file (the inverse of parsing)."""
        out: dict[str, object] = {
            "code": self.code,
            "code_system": self.code_system,
            "type": self.type,
            "name": self.name,
        }
        if self.contact:
            out["contact"] = self.contact
        if self.hl7_facilities:
            out["hl7_facilities"] = list(self.hl7_facilities)
        if self.mllp is not None:
            out["mllp"] = self.mllp.as_mapping()
        return out


class DirectoryError(ValueError):
    """A directory that must not be used, with every problem found and its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


class Directory:
    """The listings of a directory file, looked up by code or by HL7 sending facility (MSH-4)."""

    def __init__(self, listings: tuple[Listing, ...], source: str = "<directory>", digest: str = "") -> None:
        self.listings = listings
        self.source = source
        self.digest = digest
        self._by_code = {listing.code: listing for listing in listings}
        self._by_facility = {facility_key(f): listing for listing in listings for f in listing.hl7_facilities}

    @classmethod
    def empty(cls) -> Directory:
        return cls((), "<no directory>")

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> Directory:
        """Parse and check directory YAML; raise `DirectoryError` with every problem (by line) if it is unsafe."""
        directory, problems = read_directory(text, source)
        if problems:
            raise DirectoryError(problems)
        return directory

    def __iter__(self) -> Iterator[Listing]:
        return iter(self.listings)

    def __len__(self) -> int:
        return len(self.listings)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Listing | None:
        return self._by_code.get(code)

    def by_hl7_facility(self, msh4: str) -> Listing | None:
        """The organisation an HL7 v2 sender's MSH-4 identifies, or None if no listing names it."""
        return self._by_facility.get(facility_key(msh4))

    def of_type(self, org_type: str) -> tuple[Listing, ...]:
        return tuple(listing for listing in self.listings if listing.type == org_type)

    def types(self) -> Mapping[str, str]:
        """Organisation code -> type."""
        return {listing.code: listing.type for listing in self.listings}

    def problems_against(self, organisation_types: Collection[str]) -> list[Problem]:
        """A problem for every listing whose type the policy does not define (such a sender is never typed)."""
        known = ", ".join(sorted(organisation_types))
        return [
            Problem(
                self.source,
                listing.line,
                f"organisation '{listing.code}' ({listing.name}) has type '{listing.type}', which the policy "
                f"does not define (its organisation types: {known})",
            )
            for listing in self.listings
            if listing.type not in organisation_types
        ]


def _digest(data: object) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_directory(text: str, source: str = "<string>") -> tuple[Directory, list[Problem]]:
    """Every listing that is sound and every problem, by line (a listing with a problem is left out)."""
    problems: list[Problem] = []

    def fail(node: yaml.Node, message: str) -> None:
        problems.append(Problem(source, node.start_mark.line + 1, message))

    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return Directory.empty(), [Problem(source, line, f"not valid YAML: {exc.problem or exc.context}")]
    items = _items(root, source, problems)
    listings: list[Listing] = []
    codes: dict[str, int] = {}
    facilities: dict[str, str] = {}
    for node in items:
        listing = _listing(node, fail)
        if listing is None:
            continue
        if listing.code in codes:
            fail(node, f"organisation '{listing.code}' is listed twice (first on line {codes[listing.code]})")
            continue
        clash = next((f for f in listing.hl7_facilities if facility_key(f) in facilities), None)
        if clash is not None:
            fail(node, f"HL7 sending facility '{clash}' already identifies '{facilities[facility_key(clash)]}'")
            continue
        codes[listing.code] = listing.line
        facilities.update((facility_key(f), listing.code) for f in listing.hl7_facilities)
        listings.append(listing)
    # Who may send over MLLP is transport, not disclosure: it stays out of the digest the policy version covers.
    data = [{k: v for k, v in listing.as_mapping().items() if k != "mllp"} for listing in listings]
    return Directory(tuple(listings), source, _digest(data)), problems


def _items(root: yaml.Node | None, source: str, problems: list[Problem]) -> list[yaml.Node]:
    """The `organisations:` list of the file."""
    if root is None:
        problems.append(Problem(source, 1, "the directory is empty: it needs an 'organisations:' list"))
        return []
    top = root.value if isinstance(root, yaml.MappingNode) else None
    found = [value for key, value in top or () if isinstance(key, yaml.ScalarNode) and key.value == "organisations"]
    others = [key for key, _ in top or () if not (isinstance(key, yaml.ScalarNode) and key.value == "organisations")]
    for key in others:
        problems.append(Problem(source, key.start_mark.line + 1, f"unknown key '{key.value}' (expected organisations)"))
    if not found or not isinstance(found[0], yaml.SequenceNode):
        line = found[0].start_mark.line + 1 if found else 1
        problems.append(Problem(source, line, "the directory needs 'organisations:' holding a list of organisations"))
        return []
    return list(found[0].value)


def _scalar(node: yaml.Node | None) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
        return None
    return str(node.value).strip()


def _listing(node: yaml.Node, fail: _Fail) -> Listing | None:
    """One list item, or None (with problems recorded through `fail`) if it is not a sound listing."""
    if not isinstance(node, yaml.MappingNode):
        fail(node, f"an organisation must be a mapping of {', '.join(_KEYS)}")
        return None
    fields: dict[str, yaml.Node] = {}
    bad = False
    for key, value in node.value:
        name = _scalar(key)
        if name not in _KEYS:
            fail(key, f"unknown key '{name}' in an organisation (expected one of: {', '.join(_KEYS)})")
            bad = True
        elif name in fields:
            fail(key, f"duplicate key '{name}' in an organisation")
            bad = True
        else:
            fields[name] = value
    values = {key: _scalar(fields.get(key)) for key in ("code", "code_system", "type", "name", "contact")}
    what = f"organisation '{values['code']}'" if values["code"] else "an organisation"
    for key in ("code", "code_system", "type", "name"):
        if not values[key]:
            fail(fields.get(key, node), f"{what} needs a '{key}' (a single value)")
            bad = True
    if "contact" in fields and values["contact"] is None:
        fail(fields["contact"], f"the contact of {what} must be a single value")
        bad = True
    facilities = _facilities(fields.get("hl7_facilities"), what, fail)
    if facilities is None:
        bad = True
    mllp = _mllp(fields["mllp"], what, fail) if "mllp" in fields else None
    if "mllp" in fields and mllp is None:
        bad = True
    system = code_system(values["code_system"] or "")
    if values["code_system"] and system is None:
        fail(fields["code_system"], f"unknown code system '{values['code_system']}' for {what} ({_known_systems()})")
        bad = True
    code = values["code"] or ""
    if system is not None and code and not system.valid(code):
        fail(fields["code"], f"'{code}' is not a valid {system.title}: expected {system.rule}")
        bad = True
    if bad or system is None:
        return None
    return Listing(
        code=code,
        code_system=system.uri,
        type=values["type"] or "",
        name=values["name"] or "",
        contact=values["contact"] or "",
        hl7_facilities=facilities or (),
        mllp=mllp,
        line=node.start_mark.line + 1,
    )


def _facilities(node: yaml.Node | None, what: str, fail: _Fail) -> tuple[str, ...] | None:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        fail(node, f"the hl7_facilities of {what} must be a list of MSH-4 values")
        return None
    out: list[str] = []
    for item in node.value:
        value = _scalar(item)
        if not value:
            fail(item, f"an HL7 sending facility of {what} must be a single non-empty value")
            return None
        if facility_key(value) in {facility_key(f) for f in out}:
            fail(item, f"HL7 sending facility '{value}' is listed twice for {what}")
            return None
        out.append(value)
    return tuple(out)


def _mllp(node: yaml.Node, what: str, fail: _Fail) -> MllpPeers | None:
    """`mllp: {addresses: [...], certificates: [...]}`, or None (with problems recorded) if it is not sound."""
    if not isinstance(node, yaml.MappingNode):
        fail(node, f"the mllp of {what} must be a mapping of addresses and/or certificates")
        return None
    lists: dict[str, tuple[str, ...]] = {}
    for key, value in node.value:
        name = _scalar(key)
        if name not in _MLLP_KEYS or name in lists:
            fail(key, f"unknown or repeated key '{name}' in the mllp of {what} (expected addresses, certificates)")
            return None
        items = _mllp_list(value, f"the mllp {name} of {what}", fail)
        if items is None:
            return None
        lists[name] = items
    peers = MllpPeers(lists.get("addresses", ()), lists.get("certificates", ()))
    if not peers.addresses and not peers.certificates:
        fail(node, f"the mllp of {what} lists no addresses or certificates (leave mllp out to list none)")
        return None
    bad = next((a for a in peers.addresses if _network(a) is None), None)
    if bad is not None:
        fail(node, f"'{bad}' in the mllp addresses of {what} is not an IP address or network (e.g. 10.20.0.0/24)")
        return None
    return peers


def _mllp_list(node: yaml.Node, what: str, fail: _Fail) -> tuple[str, ...] | None:
    values = [_scalar(item) for item in node.value] if isinstance(node, yaml.SequenceNode) else [None]
    if not all(values):
        fail(node, f"{what} must be a list of single non-empty values")
        return None
    return tuple(v for v in values if v)


def _known_systems() -> str:
    return "known: " + ", ".join(f"{s.alias} ({s.uri})" for s in CODE_SYSTEMS)


def validate_code(code: str, system_name: str) -> str | None:
    """Why `code` cannot be listed under the named code system, or None if it can."""
    system = code_system(system_name)
    if system is None:
        return f"unknown code system '{system_name}' ({_known_systems()})"
    if not system.valid(code):
        return f"'{code}' is not a valid {system.title}: expected {system.rule}"
    return None


def validate_mllp_address(address: str) -> str | None:
    """Why `address` cannot be listed as an MLLP peer address, or None if it is an IP address or network."""
    if _network(address) is None:
        return f"'{address}' is not an IP address or network (e.g. 10.20.0.0/24)"
    return None
