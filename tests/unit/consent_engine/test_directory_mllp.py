"""The directory's MLLP sender binding: which connections may send HL7 v2 as an organisation."""

from __future__ import annotations

import pytest

from consent_engine.directory import Directory, MllpPeers, read_directory, validate_mllp_address

from .builders import default_directory

BOUND = """\
organisations:
  - code: A81001
    code_system: ods
    type: gp-practice
    name: Riverside
    hl7_facilities: [RIVERSIDE-EMIS]
    mllp:
      addresses: [10.20.0.0/24, "2001:db8::/32"]
      certificates: [Riverside-EMIS.example.nhs.uk]
  - code: RX1
    code_system: ods
    type: acute-trust
    name: Northshire Hospitals
    hl7_facilities: [NSH-PAS]
    mllp: {addresses: [127.0.0.1]}
  - {code: RX4, code_system: ods, type: camhs, name: CAMHS, mllp: {certificates: [camhs.example]}}
  - {code: RY7, code_system: ods, type: community-health, name: Community, hl7_facilities: [RY7]}
"""


def test_each_kind_listed_must_match() -> None:
    directory = Directory.parse(BOUND)
    gp, acute, camhs, community = (directory.get(c) for c in ("A81001", "RX1", "RX4", "RY7"))
    assert gp is not None and gp.mllp is not None
    assert gp.mllp.allows("10.20.0.9", "riverside-emis.EXAMPLE.nhs.uk")
    assert gp.mllp.allows("2001:db8::5", "Riverside-EMIS.example.nhs.uk")
    assert not gp.mllp.allows("10.20.0.9", None)  # the certificate is required too
    assert not gp.mllp.allows("10.20.1.9", "riverside-emis.example.nhs.uk")
    assert acute is not None and acute.mllp is not None
    assert acute.mllp.allows("127.0.0.1", None) and acute.mllp.allows("::ffff:127.0.0.1", "anything")
    assert not acute.mllp.allows("127.0.0.2", None) and not acute.mllp.allows("::1", None)
    assert not acute.mllp.allows(None, None) and not acute.mllp.allows("not-an-address", None)
    assert acute.mllp.allows("127.0.0.1%lo", None)
    assert camhs is not None and camhs.mllp is not None and camhs.mllp.allows(None, "CAMHS.example")
    assert community is not None and community.mllp is None
    assert not MllpPeers().allows("127.0.0.1", "x")


def test_the_binding_is_written_back_and_kept_out_of_the_policy_digest() -> None:
    directory = Directory.parse(BOUND)
    gp = directory.get("A81001")
    assert gp is not None and gp.as_mapping()["mllp"] == {
        "addresses": ["10.20.0.0/24", "2001:db8::/32"],
        "certificates": ["Riverside-EMIS.example.nhs.uk"],
    }
    camhs = directory.get("RX4")
    assert camhs is not None and camhs.as_mapping()["mllp"] == {"certificates": ["camhs.example"]}
    rebound = Directory.parse(BOUND.replace("10.20.0.0/24", "10.30.0.0/24"))
    assert rebound.digest == directory.digest  # who may send is transport, not disclosure
    assert Directory.parse(BOUND.replace("    mllp: {addresses: [127.0.0.1]}\n", "")).digest == directory.digest


def test_the_bundled_region_binds_every_hl7_sender_to_loopback() -> None:
    senders = [listing for listing in default_directory() if listing.hl7_facilities]
    assert senders and all(s.mllp is not None and s.mllp.allows("127.0.0.1", None) for s in senders)
    assert all(s.mllp is not None and not s.mllp.allows("10.0.0.1", None) for s in senders)


BAD = [
    ("mllp: {addresses: [127.0.0.1]}", "mllp: [127.0.0.1]", "must be a mapping of addresses and/or certificates"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {hosts: [a]}", "unknown or repeated key 'hosts'"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {addresses: [a], addresses: [b]}", "unknown or repeated key 'addr"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {addresses: 127.0.0.1}", "must be a list of single non-empty values"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {addresses: ['']}", "must be a list of single non-empty values"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {addresses: []}", "lists no addresses or certificates"),
    ("mllp: {addresses: [127.0.0.1]}", "mllp: {addresses: [pas.example]}", "'pas.example' in the mllp addresses"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD, ids=[b[2] for b in BAD])
def test_a_bad_binding_is_a_problem_on_its_line(old: str, new: str, message: str) -> None:
    text = BOUND.replace(old, new)
    directory, problems = read_directory(text, "bad.yaml")
    (problem,) = problems
    assert message in problem.message and problem.line == 15, problems
    assert directory.get("RX1") is None and directory.get("A81001") is not None


def test_an_operator_typed_address_is_checked() -> None:
    assert validate_mllp_address("10.1.2.0/24") is None and validate_mllp_address("::1") is None
    assert "not an IP address or network" in (validate_mllp_address("pas.example") or "")
