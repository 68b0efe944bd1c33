"""The organisation directory: parsing, per-code-system validation, lookups by code and by HL7 MSH-4."""

from __future__ import annotations

import pytest

from consent_engine import check_policy, parse_policy
from consent_engine.directory import (
    CHARITY,
    LA_CODE,
    LOCAL,
    ODS,
    URN,
    Directory,
    DirectoryError,
    Listing,
    code_system,
    read_directory,
    validate_code,
)

from .builders import MINI, MINI_DIRECTORY, default_directory, default_policy, default_text

GOOD = """\
organisations:
  - code: A81001
    code_system: ods
    type: gp-practice
    name: Riverside
    contact: duty doctor
    hl7_facilities: [A81001, riverside-emis]
  - {code: "100001", code_system: "https://fhir.hl7.org.uk/Id/urn-school-number", type: school, name: Academy}
"""


def test_a_directory_lists_organisations_by_code_and_by_msh4() -> None:
    directory = Directory.parse(GOOD, "dir.yaml")
    assert len(directory) == 2 and "A81001" in directory and "X" not in directory
    gp = directory.get("A81001")
    assert gp == Listing("A81001", ODS, "gp-practice", "Riverside", "duty doctor", ("A81001", "riverside-emis"))
    assert gp is not None and gp.line == 2
    assert directory.by_hl7_facility(" RIVERSIDE-EMIS ") is gp and directory.by_hl7_facility("RX1") is None
    assert [listing.code for listing in directory] == ["A81001", "100001"]
    assert directory.of_type("school")[0].code_system == URN and directory.types()["100001"] == "school"
    school = directory.get("100001")
    assert school is not None and school.as_mapping() == {
        "code": "100001",
        "code_system": URN,
        "type": "school",
        "name": "Academy",
    }
    relaid = "# comment\n" + GOOD.replace("name: Riverside", "name:    Riverside  # the practice")
    assert Directory.parse(relaid).digest == directory.digest
    assert Directory.parse(GOOD.replace("Riverside", "Riverbank")).digest != directory.digest


def test_the_bundled_directory_covers_every_policy_type_with_real_code_systems() -> None:
    directory = default_directory()
    policy = default_policy()
    assert {listing.type for listing in directory} == set(policy.organisation_types)
    systems = {listing.type: listing.code_system for listing in directory if listing.code_system != LOCAL}
    assert systems["gp-practice"] == systems["camhs"] == systems["acute-trust"] == ODS
    assert systems["school"] == URN and systems["local-authority"] == LA_CODE and systems["vcse"] == CHARITY
    assert policy.organisations["RX1"].type == "acute-trust" and policy.organisations["A81001"].type == "gp-practice"
    assert policy.organisations["RY7X1"].type == "community-health"
    assert len(directory.of_type("gp-practice")) >= 3 and len(directory.of_type("school")) >= 3
    assert policy.digest != parse_policy(default_text()).digest, "the directory is part of the decisions' hash"


@pytest.mark.parametrize(
    ("code", "system", "problem"),
    [
        ("A81001", "ods", None),
        ("RX1", ODS, None),
        ("rx1", "ods", "not a valid NHS ODS code"),
        ("A8100199", "ods", "3 to 6"),
        ("100001", "urn", None),
        ("10001", "urn", "6 digits"),
        ("990", "la", None),
        ("99", "la", "3 digits"),
        ("1190001", "charity", None),
        ("11900", "charity", "6 to 8 digits"),
        ("ONESTORY", "local", None),
        ("A81001", "gmc", "unknown code system 'gmc'"),
    ],
)
def test_codes_are_validated_per_code_system(code: str, system: str, problem: str | None) -> None:
    found = validate_code(code, system)
    assert (found is None) if problem is None else (found is not None and problem in found), found
    assert code_system(system) is None or code_system(system) is code_system(code_system(system).uri)  # type: ignore[union-attr]


# (replace this, with this, the expected message, the text on the line it is reported at)
BAD = [
    ("code: A81001\n", "code: a81001\n", "'a81001' is not a valid NHS ODS code", "code: a81001"),
    ("code_system: ods\n", "code_system: gmc\n", "unknown code system 'gmc'", "code_system: gmc"),
    ("    type: gp-practice\n", "", "organisation 'A81001' needs a 'type'", "- code: A81001"),
    ("    name: Riverside\n", "    name: ~\n", "needs a 'name'", "name: ~"),
    ("    contact: duty doctor\n", "    contact: [a, b]\n", "the contact of organisation 'A81001'", "contact: [a"),
    ("    contact: duty doctor\n", "    phone: 1\n", "unknown key 'phone'", "phone: 1"),
    ("    contact: duty doctor\n", "    name: Again\n", "duplicate key 'name'", "name: Again"),
    ("[A81001, riverside-emis]", "A81001", "must be a list of MSH-4 values", "hl7_facilities: A81001"),
    ("[A81001, riverside-emis]", "[A81001, '']", "must be a single non-empty value", "hl7_facilities:"),
    ("[A81001, riverside-emis]", "[A81001, a81001]", "'a81001' is listed twice", "hl7_facilities:"),
    ('  - {code: "100001"', '  - just-a-name\n  - {code: "100001"', "must be a mapping", "just-a-name"),
    (
        '{code: "100001", code_system: "https://fhir.hl7.org.uk/Id/urn-school-number"',
        "{code: A81001, code_system: ods",
        "listed twice (first on line 2)",
        "{code: A81001",
    ),
    (
        "type: school, name: Academy}",
        "type: school, name: Academy, hl7_facilities: [RIVERSIDE-EMIS]}",
        "already identifies 'A81001'",
        '{code: "100001"',
    ),
    ("organisations:\n", "version: 1\norganisations:\n", "unknown key 'version'", "version: 1"),
]


@pytest.mark.parametrize(("old", "new", "message", "where"), BAD, ids=[b[2] for b in BAD])
def test_a_bad_directory_names_the_line(old: str, new: str, message: str, where: str) -> None:
    assert old in GOOD, old
    text = GOOD.replace(old, new, 1)
    _, problems = read_directory(text, "bad.yaml")
    matching = [p for p in problems if message in p.message]
    assert matching, problems
    index = text.index(where)
    assert matching[0].line == text.count("\n", 0, index) + 1, (matching[0], problems)
    with pytest.raises(DirectoryError) as raised:
        Directory.parse(text, "bad.yaml")
    assert message in str(raised.value) and raised.value.problems


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("", "the directory is empty", 1),
        ("organisations: {}\n", "holding a list of organisations", 1),
        ("- a\n", "holding a list of organisations", 1),
        ("organisations: [unclosed\n", "not valid YAML", 2),
    ],
)
def test_unusable_directory_files(text: str, message: str, line: int) -> None:
    directory, problems = read_directory(text, "bad.yaml")
    assert any(message in p.message and p.line == line for p in problems), problems
    assert len(directory) == 0


def test_a_policy_is_checked_against_its_directory() -> None:
    academy = MINI_DIRECTORY.listings[1]
    odd = Directory((*MINI_DIRECTORY.listings[:1], Listing("SCH1", LOCAL, "academy", "School One", line=7)), "d.yaml")
    problems = check_policy(MINI, "mini.yaml", odd)
    assert academy.type == "school"
    assert "d.yaml:7: organisation 'SCH1' (School One) has type 'academy', which the policy does not define" in str(
        [str(p) for p in problems]
    )
    assert any(p.message == "unknown organisation 'SCH2'" for p in problems)
    assert parse_policy(MINI, "mini.yaml", MINI_DIRECTORY).organisations["GP1"].contact.text == "call the practice"
    assert parse_policy(MINI.split("rules:")[0], "bare.yaml").organisations == {}
    assert Directory.empty().by_hl7_facility("RX1") is None and len(Directory.empty()) == 0
