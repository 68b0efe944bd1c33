"""Policy checks: the shipped policies pass; each kind of bad policy fails, naming the right line."""

from __future__ import annotations

import pytest

from consent_engine import Level, PolicyError, Problem, check_policy, parse_policy
from consent_engine.policy_compile import compile_policy
from consent_engine.policy_parse import parse_spec

from .builders import MINI, MINI_DIRECTORY, default_directory, default_text


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle`."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def problems_of(text: str) -> list[Problem]:
    return check_policy(text, "bad.yaml", MINI_DIRECTORY)


def test_shipped_policies_pass() -> None:
    assert check_policy(default_text(), "default.yaml", default_directory()) == []
    assert check_policy(MINI, "mini.yaml", MINI_DIRECTORY) == []
    policy = parse_policy(MINI, "mini.yaml", MINI_DIRECTORY)
    assert policy.version == "1" and policy.name == "Mini policy" and len(policy.digest) == 64


def test_digest_ignores_layout_and_comments() -> None:
    relaid = "# a comment\n" + MINI.replace("  PSY: Psychiatry.", "  PSY:    Psychiatry.   # comment")
    mini = parse_policy(MINI, directory=MINI_DIRECTORY).digest
    assert parse_policy(relaid, directory=MINI_DIRECTORY).digest == mini
    assert parse_policy(MINI.replace('version: "1"', 'version: "2"'), directory=MINI_DIRECTORY).digest != mini


# (replace this, with this, expected message fragment, the line to report is where this text is)
MUTATIONS = [
    # structure
    ("  PSY: Psychiatry.\n", "  PSY: Psychiatry.\n  ~: nothing\n", "must be a single value", "~: nothing"),
    ("sealed:\n", "sealed_categorys: [x]\nsealed:\n", "unknown key 'sealed_categorys'", "sealed_categorys"),
    (
        "      summary: [attendance]\n    safeguarding:",
        "      summary: [attendance]\n    direct-care: {}\n    safeguarding:",
        "duplicate key 'direct-care'",
        "direct-care: {}",
    ),
    (
        "roles:\n",
        "organisations:\n  SCH1: {name: School One, type: school}\nroles:\n",
        "organisations belong in the organisation directory",
        "SCH1",
    ),
    ("  teacher: {purposes: [direct-care]}", "  teacher: {purposes: direct-care}", "must be a list", "teacher:"),
    ("      full: [attendance]", "      full: [attendance, attendance]", "listed twice", "full: [attendance, att"),
    (
        "    requires_decision: true\n    requires_relationship: false",
        "    requires_decision: maybe\n    requires_relationship: false",
        "must be true or false",
        "requires_decision: maybe",
    ),
    ("    max_level: summary\n  care:", "    max_level: lots\n  care:", "must be one of", "max_level: lots"),
    (
        "rules:\n  - id: deny-sch2",
        "rules:\n  - id: ~\n    effect: deny\n    when: {}\n  - id: deny-sch2",
        "a rule id must be a single value",
        "id: ~",
    ),
    (
        "    effect: deny\n    when: {organisations: [SCH2]",
        "    effect: forbid\n    when: {organisations: [SCH2]",
        "must be 'deny' or 'limit'",
        "effect: forbid",
    ),
    (
        "    effect: deny\n    when: {organisations: [SCH2]",
        "    effect: deny\n    max_level: flag\n    when: {organisations: [SCH2]",
        "cannot also have a max_level",
        "max_level: flag\n    when: {organisations",
    ),
    (
        "    effect: limit\n    max_level: summary\n    when: {organisations",
        "    effect: limit\n    when: {organisations",
        "needs a max_level",
        "- id: limit-attendance",
    ),
    (
        "  - id: deny-sch2-mental-health\n",
        "  - description: no id\n    effect: deny\n    when: {}\n  - id: deny-sch2-mental-health\n",
        "a rule needs 'id'",
        "description: no id",
    ),
    (
        "    when: {organisations: [SCH2], categories: [mental-health]}",
        "    when: {organisations: [SCH2], categories: [mental-health], staff: [x]}",
        "unknown key 'staff'",
        "staff",
    ),
    (
        "  care:\n    applies: recorded",
        "  care:\n    applies: sometimes",
        "must be 'recorded' or 'standing'",
        "applies: sometimes",
    ),
    ("  care:\n    applies: recorded", "  care:\n    description: x", "needs 'applies'", "description: x"),
    ("lawful_bases:", "rules2: 1\nlawful_bases:", "unknown key 'rules2'", "rules2"),
    ("name: Mini policy", "name: Mini policy\nlabelling: {a: b}", "labelling must be a list", "labelling:"),
    (
        "name: Mini policy",
        "name: Mini policy\nlabelling:\n  - {id: x, system: s, labels: [PSY]}",
        "needs codes or prefixes",
        "- {id: x",
    ),
    ("name: Mini policy", "name: Mini policy\nlabelling:\n  - {id: x, labels: [PSY]}", "needs 'system'", "- {id: x"),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}}",
        "break_glass needs 'roles'",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}, roles: [gp], purposes: [direct-care],"
        " categories: ['*'], max_level: flag, max_minutes: soon}",
        "must be a whole number",
        "break_glass:",
    ),
    (
        "rules:\n  - id: deny-sch2",
        "rules: {a: b}\nold_rules:\n  - id: deny-sch2",
        "rules must be a list",
        "rules: {a: b}",
    ),
    ("roles:\n", "roles: 3\nold_roles:\n", "roles must be a mapping", "roles: 3"),
    # semantics
    ('version: "1"', 'version: ""', "non-empty version", "name: Mini"),
    (
        "  teacher: {purposes: [direct-care]}",
        "  teacher: {purposes: [teaching]}",
        "unknown purpose 'teaching'",
        "teacher:",
    ),
    (
        "  categories: [sexual-health]",
        "  categories: [sexual-health, gender]",
        "unknown category 'gender'",
        "  categories: [sexual-health, gender]",
    ),
    (
        "  categories: [sexual-health]\n",
        "  categories: [sexual-health]\n  labels: [HIV]\n",
        "unknown label 'HIV'",
        "labels: [HIV]",
    ),
    ("  ig-officer:\n    audit:", "  nurse:\n    audit:", "unknown role 'nurse'", "  nurse:"),
    ("  ig-officer:\n    audit:", "  ig-officer:\n    reading:", "unknown purpose 'reading'", "reading:"),
    ("      full: [attendance]", "      full: [attendance, maths]", "unknown category 'maths'", "maths"),
    (
        "  teacher:\n    direct-care:",
        "  teacher:\n    safeguarding:\n      full: [attendance]\n      flag: [mental-health]\n    direct-care:",
        "unreachable: role 'teacher' may not act for 'safeguarding'",
        "    safeguarding:\n      full: [attendance]\n      flag",
    ),
    (
        '    audit:\n      flag: ["*"]',
        '    audit:\n      summary: ["*"]',
        "acting for audit shows metadata only",
        'summary: ["*"]',
    ),
    (
        "      flag: [mental-health]",
        "      flag: [mental-health]\n      summary: [mental-health]",
        "contradiction: matrix cell 'teacher' / 'direct-care' / 'mental-health' is summary here but flag",
        "summary: [mental-health]",
    ),
    (
        "      full: [attendance]\n      flag",
        "      full: [attendance]\n      none: [sexual-health]\n      flag",
        "",
        "",
    ),  # an explicit none is fine
    (
        "rules:\n",
        "rules:\n  - id: deny-sch2-mental-health\n    effect: deny\n    when: {organisations: [SCH1],"
        " categories: [mental-health]}\n",
        "duplicate rule id 'deny-sch2-mental-health'",
        "  - id: deny-sch2-mental-health\n    description",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {organisations: [SCH9], categories: [mental-health]}",
        "unknown organisation 'SCH9'",
        "SCH9",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {organisations: [SCH2], categories: [mental-health], labels: [XYZ]}",
        "unknown label 'XYZ'",
        "XYZ",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {organisations: [SCH2], categories: []}",
        "empty condition list",
        "- id: deny-sch2",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {organisations: [SCH2], organisation_types: [hub]}",
        "none of the organisations",
        "- id: deny-sch2",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {roles: [ig-officer], purposes: [direct-care]}",
        "matches no role, purpose and category",
        "- id: deny-sch2",
    ),
    (
        "when: {organisations: [SCH2], categories: [mental-health]}",
        "when: {roles: [teacher], categories: [sexual-health]}",
        "never changes a decision",
        "- id: deny-sch2",
    ),
    (
        "rules:\n",
        "rules:\n  - id: deny-teacher-psy\n    effect: deny\n    when: {roles: [teacher], labels: [PSY]}\n"
        "  - id: limit-teacher-psy-sch1\n    effect: limit\n    max_level: flag\n    when: {roles: [teacher], "
        "organisations: [SCH1], labels: [PSY]}\n",
        "(given rule 'deny-teacher-psy'",
        "- id: limit-teacher-psy-sch1",
    ),
    (
        "    effect: limit\n    max_level: summary\n    when: {organisations",
        "    effect: limit\n    max_level: full\n    when: {organisations",
        "already at most full",
        "- id: limit-attendance",
    ),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [caring]",
        "unknown purpose 'caring'",
        "caring",
    ),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [direct-care]\n    categories: [mental-health]",
        "",
        "",
    ),
    ("      full: [attendance]", "      full: [attendance, ~]", "an item of matrix", "full: [attendance, ~]"),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [direct-care]\n    categories: [sexual-health]",
        "'sexual-health' is sealed, so lawful basis 'care' cannot open it",
        "categories: [sexual-health]\n  statutory",
    ),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [direct-care]\n    overrides_refusal: true",
        "overrides a refusal, so it must require",
        "  care:",
    ),
    (
        "    applies: standing\n    purposes: [audit]",
        "    applies: standing\n    purposes: [audit]\n    requires_decision: true",
        "is standing, so no decision is recorded",
        "  audit:\n    applies",
    ),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [safeguarding]\n    roles: [teacher]",
        "lawful basis 'care' can never open an entry",
        "  care:",
    ),
    (
        "  care:\n    applies: recorded\n    purposes: [direct-care]",
        "  care:\n    applies: recorded\n    purposes: [direct-care]\n    max_level: none",
        "lawful basis 'care' can never open an entry",
        "  care:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {}, roles: [gp], purposes: [direct-care],"
        " categories: ['*'], max_level: flag, max_minutes: 0}",
        "at least one reason",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}, roles: [gp], purposes: [direct-care],"
        " categories: ['*'], max_level: flag, max_minutes: 0}",
        "max_minutes must be positive",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}, roles: [gp], purposes: [direct-care],"
        " categories: [sexual-health], max_level: flag, max_minutes: 10}",
        "break-glass cannot open it",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}, roles: [vet], purposes: [direct-care],"
        " categories: ['*'], max_level: flag, max_minutes: 10}",
        "unknown role 'vet'",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nbreak_glass: {reasons: {a: b}, roles: [teacher], purposes: [audit],"
        " categories: ['*'], max_level: flag, max_minutes: 10}",
        "break_glass can never open",
        "break_glass:",
    ),
    (
        "name: Mini policy",
        "name: Mini policy\nlabelling:\n  - {id: x, system: s, codes: [a], labels: [ZZ]}\n"
        "  - {id: x, system: s, prefixes: [b], labels: [PSY]}",
        "duplicate labelling rule id 'x'",
        "  - {id: x, system: s, p",
    ),
]


@pytest.mark.parametrize(("old", "new", "message", "where"), MUTATIONS, ids=[m[2] or "fine" for m in MUTATIONS])
def test_bad_policy_names_the_line(old: str, new: str, message: str, where: str) -> None:
    assert old in MINI, old
    text = MINI.replace(old, new, 1)
    problems = problems_of(text)
    if not message:
        assert problems == []
        return
    matching = [p for p in problems if message in p.message]
    assert matching, problems
    assert matching[0].line == line_of(text, where), (matching[0], problems)
    assert str(matching[0]).startswith(f"bad.yaml:{matching[0].line}: ")
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "bad.yaml", MINI_DIRECTORY)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("", "the policy is empty", 1),
        ("- a\n- b\n", "the policy must be a mapping", 1),
        ("name: x\nmatrix: [unclosed\n", "not valid YAML", 3),
        ("a: 1\n---\nb: 2\n", "not valid YAML", 2),
        ("name: x\n", "the policy needs 'version'", 1),
    ],
)
def test_unusable_files(text: str, message: str, line: int) -> None:
    problems = problems_of(text)
    assert any(message in p.message and p.line == line for p in problems), problems


def test_audit_cap_holds_even_for_an_unchecked_policy() -> None:
    spec, problems = parse_spec(MINI.replace('    audit:\n      flag: ["*"]', '    audit:\n      full: ["*"]'))
    assert spec is not None and problems == []
    cell = compile_policy(spec).cells[("ig-officer", "audit", "mental-health")]
    assert cell.own_cap == Level.FLAG.rank
    assert "audit-metadata-only" in [rule for rule, _ in cell.own_steps]


def test_policy_exposes_its_parts() -> None:
    policy = parse_policy(MINI, "mini.yaml", MINI_DIRECTORY)
    assert policy.source == "mini.yaml" and policy.description == "A small policy for edge cases."
    assert policy.break_glass is None
    assert policy.matrix[("ig-officer", "audit", "*")] is Level.FLAG
    assert policy.organisations["SCH2"].contact.text == "school office"
    assert policy.roles["gp"].purposes == frozenset({"direct-care", "safeguarding"})
    assert [rule.id for rule in policy.rules][0] == "deny-sch2-mental-health"
    default = parse_policy(default_text(), directory=default_directory())
    assert default.break_glass is not None and default.break_glass.max_level is Level.SUMMARY
    assert set(default.roles) == {
        "gp",
        "camhs-clinician",
        "school-nurse",
        "school-dsl",
        "teacher",
        "social-worker",
        "vcse-worker",
        "ig-officer",
        "system",
    }
