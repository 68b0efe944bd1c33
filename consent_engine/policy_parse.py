"""Read policy YAML into a `PolicySpec`, reporting structural problems with their line numbers.

The YAML is composed (not loaded) so that every key and list item keeps its position: a policy author is
told `default.yaml:212: unknown category 'mental-heath'` rather than a stack trace. Duplicate keys, which
a plain YAML load silently collapses, are reported here because a duplicated matrix cell is a contradiction.
"""

from __future__ import annotations

import hashlib
import json

import yaml

from consent_engine.model import Level
from consent_engine.policy_spec import (
    COMPETENCE_RULES,
    BreakGlassSpec,
    CellSpec,
    CompetenceSpec,
    LabelRuleSpec,
    LawfulBasisSpec,
    Named,
    PolicySpec,
    Problem,
    Ref,
    RoleSpec,
    RuleSpec,
)

_TOP = (
    "name",
    "version",
    "description",
    "purposes",
    "organisation_types",
    "organisations",
    "roles",
    "categories",
    "labels",
    "sealed",
    "matrix",
    "rules",
    "lawful_bases",
    "break_glass",
    "labelling",
    "competence",
)
_CONDITIONS = ("roles", "organisation_types", "organisations", "categories", "purposes", "labels")
_LEVEL_KEYS = tuple(level.value for level in Level)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when available: ten times faster, with the same marks (line numbers)."""


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Reader:
    """Typed accessors over YAML nodes that record a problem, instead of raising, when a node is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.source, _line(node), message))

    def mapping(
        self, node: yaml.Node, what: str, keys: tuple[str, ...] | None = None, required: tuple[str, ...] = ()
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = self.scalar(key_node, f"a key in {what}")
            if key is None:
                continue
            if key in out:
                self.fail(key_node, f"duplicate key '{key}' in {what}")
            elif keys is not None and key not in keys:
                self.fail(key_node, f"unknown key '{key}' in {what} (expected one of: {', '.join(keys)})")
            else:
                out[key] = value
        for key in required:
            if key not in out:
                self.fail(node, f"{what} needs '{key}'")
        return out

    def scalar(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.fail(node, f"{what} must be a single value")
            return None
        return str(node.value)

    def text(self, node: yaml.Node | None, what: str) -> str:
        if node is None:
            return ""
        return self.scalar(node, what) or ""

    def ref(self, node: yaml.Node, what: str) -> Ref | None:
        value = self.scalar(node, what)
        return None if value is None else Ref(value, _line(node))

    def refs(self, node: yaml.Node | None, what: str) -> tuple[Ref, ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list")
            return ()
        out: list[Ref] = []
        seen: set[str] = set()
        for item in node.value:
            ref = self.ref(item, f"an item of {what}")
            if ref is None:
                continue
            if ref.value in seen:
                self.fail(item, f"'{ref.value}' is listed twice in {what}")
                continue
            seen.add(ref.value)
            out.append(ref)
        return tuple(out)

    def optional_refs(self, node: yaml.Node | None, what: str) -> tuple[Ref, ...] | None:
        return None if node is None else self.refs(node, what)

    def boolean(self, node: yaml.Node | None, what: str, default: bool) -> bool:
        if node is None:
            return default
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":bool"):
            self.fail(node, f"{what} must be true or false")
            return default
        return str(node.value).lower() in ("true", "yes", "on")

    def level(self, node: yaml.Node | None, what: str, default: Level) -> Level:
        if node is None:
            return default
        value = self.scalar(node, what)
        if value not in _LEVEL_KEYS:
            self.fail(node, f"{what} must be one of {', '.join(_LEVEL_KEYS)}, got '{value}'")
            return default
        return Level(value)

    def integer(self, node: yaml.Node, what: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":int"):
            self.fail(node, f"{what} must be a whole number")
            return 0
        return int(node.value)

    def keyed(self, node: yaml.Node | None, what: str) -> list[tuple[Ref, yaml.Node]]:
        """The entries of a mapping keyed by code, each key with its own line."""
        if node is None:
            return []
        fields = self.mapping(node, what)
        lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                lines.setdefault(str(key_node.value), _line(key_node))
        return [(Ref(key, lines[key]), value) for key, value in fields.items()]

    def named(self, node: yaml.Node | None, what: str) -> tuple[Named, ...]:
        return tuple(
            Named(code, self.text(value, f"the description of {what} '{code.value}'"))
            for code, value in self.keyed(node, what)
        )


def _plain(value: object) -> object:
    """Mapping keys as strings (YAML allows 100001 or null as keys; JSON sorting needs one type)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def canonical_digest(text: str) -> str:
    """sha256 of the policy's data in canonical JSON: comments and layout do not change a policy's version."""
    data = _plain(yaml.load(text, Loader=_LOADER))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_spec(text: str, source: str = "<string>") -> tuple[PolicySpec | None, list[Problem]]:
    """Parse YAML text into a spec; the spec is None only when the text is not a YAML mapping at all."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [Problem(source, line, f"not valid YAML: {exc.problem or exc.context}")]
    if root is None:
        return None, [Problem(source, 1, "the policy is empty")]
    top = reader.mapping(
        root,
        "the policy",
        _TOP,
        required=("version", "purposes", "organisation_types", "roles", "categories", "matrix"),
    )
    if reader.problems and not top:
        return None, reader.problems
    if "organisations" in top:
        reader.fail(
            top["organisations"],
            "organisations belong in the organisation directory (consent_engine/policies/organisations.yaml, "
            "`onestory orgs`), not the policy: the policy speaks of organisation types",
        )
    sealed = reader.mapping(top["sealed"], "sealed", ("categories", "labels")) if "sealed" in top else {}
    spec = PolicySpec(
        source=source,
        name=reader.text(top.get("name"), "name"),
        version=reader.text(top.get("version"), "version"),
        description=reader.text(top.get("description"), "description"),
        digest=canonical_digest(text),
        purposes=reader.named(top.get("purposes"), "purposes"),
        organisation_types=reader.named(top.get("organisation_types"), "organisation_types"),
        roles=_roles(reader, top.get("roles")),
        categories=reader.named(top.get("categories"), "categories"),
        labels=reader.named(top.get("labels"), "labels"),
        sealed_categories=reader.refs(sealed.get("categories"), "sealed categories"),
        sealed_labels=reader.refs(sealed.get("labels"), "sealed labels"),
        matrix=_matrix(reader, top.get("matrix")),
        rules=_rules(reader, top.get("rules")),
        lawful_bases=_lawful_bases(reader, top.get("lawful_bases")),
        break_glass=_break_glass(reader, top.get("break_glass")),
        labelling=_labelling(reader, top.get("labelling")),
        competence=_competence(reader, top.get("competence")),
    )
    return spec, reader.problems


def _roles(reader: _Reader, node: yaml.Node | None) -> tuple[RoleSpec, ...]:
    out: list[RoleSpec] = []
    for name, value in reader.keyed(node, "roles"):
        what = f"role '{name.value}'"
        fields = reader.mapping(value, what, ("description", "purposes"), required=("purposes",))
        out.append(
            RoleSpec(
                name,
                reader.text(fields.get("description"), "description"),
                reader.refs(fields.get("purposes"), f"the purposes of {what}"),
            )
        )
    return tuple(out)


def _matrix(reader: _Reader, node: yaml.Node | None) -> tuple[CellSpec, ...]:
    cells: list[CellSpec] = []
    for role_key, role_node in reader.keyed(node, "matrix"):
        for purpose_key, purpose_node in reader.keyed(role_node, f"matrix role '{role_key.value}'"):
            what = f"matrix '{role_key.value}' / '{purpose_key.value}'"
            for level_name, categories in reader.mapping(purpose_node, what, _LEVEL_KEYS).items():
                for category in reader.refs(categories, f"{what} {level_name}"):
                    cells.append(CellSpec(role_key, purpose_key, category, Level(level_name)))
    return tuple(cells)


def _rules(reader: _Reader, node: yaml.Node | None) -> tuple[RuleSpec, ...]:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        reader.fail(node, "rules must be a list")
        return ()
    out: list[RuleSpec] = []
    for item in node.value:
        fields = reader.mapping(
            item, "a rule", ("id", "description", "effect", "max_level", "when"), required=("id", "effect", "when")
        )
        rule_id = reader.ref(fields["id"], "a rule id") if "id" in fields else None
        if rule_id is None or "effect" not in fields or "when" not in fields:
            continue
        what = f"rule '{rule_id.value}'"
        effect = reader.scalar(fields["effect"], f"the effect of {what}")
        if effect == "deny":
            if "max_level" in fields:
                reader.fail(fields["max_level"], f"{what} is a deny: it cannot also have a max_level")
            max_level = Level.NONE
        elif effect == "limit":
            if "max_level" not in fields:
                reader.fail(item, f"{what} is a limit: it needs a max_level")
            max_level = reader.level(fields.get("max_level"), f"the max_level of {what}", Level.NONE)
        else:
            reader.fail(fields["effect"], f"the effect of {what} must be 'deny' or 'limit'")
            continue
        when = reader.mapping(fields["when"], f"the conditions of {what}", _CONDITIONS)
        conditions = {key: reader.optional_refs(when.get(key), f"{what} {key}") for key in _CONDITIONS}
        out.append(RuleSpec(rule_id, reader.text(fields.get("description"), "description"), max_level, **conditions))
    return tuple(out)


def _lawful_bases(reader: _Reader, node: yaml.Node | None) -> tuple[LawfulBasisSpec, ...]:
    out: list[LawfulBasisSpec] = []
    for code, value in reader.keyed(node, "lawful_bases"):
        what = f"lawful basis '{code.value}'"
        fields = reader.mapping(
            value,
            what,
            (
                "description",
                "applies",
                "purposes",
                "roles",
                "organisation_types",
                "categories",
                "requires_decision",
                "overrides_refusal",
                "requires_relationship",
                "max_level",
            ),
            required=("applies", "purposes"),
        )
        applies = reader.scalar(fields["applies"], f"where {what} applies") if "applies" in fields else None
        if applies not in ("recorded", "standing"):
            if "applies" in fields:
                reader.fail(fields["applies"], f"{what} applies must be 'recorded' or 'standing'")
            continue
        out.append(
            LawfulBasisSpec(
                code=code,
                description=reader.text(fields.get("description"), "description"),
                standing=applies == "standing",
                purposes=reader.refs(fields.get("purposes"), f"the purposes of {what}"),
                roles=reader.optional_refs(fields.get("roles"), f"the roles of {what}"),
                organisation_types=reader.optional_refs(
                    fields.get("organisation_types"), f"the organisation types of {what}"
                ),
                categories=reader.optional_refs(fields.get("categories"), f"the categories of {what}"),
                requires_decision=reader.boolean(fields.get("requires_decision"), "requires_decision", False),
                overrides_refusal=reader.boolean(fields.get("overrides_refusal"), "overrides_refusal", False),
                requires_relationship=reader.boolean(
                    fields.get("requires_relationship"), "requires_relationship", True
                ),
                max_level=reader.level(fields.get("max_level"), f"the max_level of {what}", Level.FULL),
            )
        )
    return tuple(out)


def _break_glass(reader: _Reader, node: yaml.Node | None) -> BreakGlassSpec | None:
    if node is None:
        return None
    fields = reader.mapping(
        node,
        "break_glass",
        ("reasons", "roles", "purposes", "categories", "max_level", "max_minutes"),
        required=("reasons", "roles", "purposes", "categories", "max_level", "max_minutes"),
    )
    return BreakGlassSpec(
        line=_line(node),
        reasons=reader.named(fields.get("reasons"), "break_glass reasons"),
        roles=reader.refs(fields.get("roles"), "break_glass roles"),
        purposes=reader.refs(fields.get("purposes"), "break_glass purposes"),
        categories=reader.refs(fields.get("categories"), "break_glass categories"),
        max_level=reader.level(fields.get("max_level"), "the break_glass max_level", Level.NONE),
        max_minutes=reader.integer(fields["max_minutes"], "break_glass max_minutes") if "max_minutes" in fields else 0,
    )


def _labelling(reader: _Reader, node: yaml.Node | None) -> tuple[LabelRuleSpec, ...]:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        reader.fail(node, "labelling must be a list")
        return ()
    out: list[LabelRuleSpec] = []
    for item in node.value:
        fields = reader.mapping(
            item,
            "a labelling rule",
            ("id", "system", "codes", "prefixes", "labels"),
            required=("id", "system", "labels"),
        )
        rule_id = reader.ref(fields["id"], "a labelling rule id") if "id" in fields else None
        system = reader.scalar(fields["system"], "a code system") if "system" in fields else None
        if rule_id is None or system is None:
            continue
        what = f"labelling rule '{rule_id.value}'"
        codes = tuple(ref.value for ref in reader.refs(fields.get("codes"), f"the codes of {what}"))
        prefixes = tuple(ref.value for ref in reader.refs(fields.get("prefixes"), f"the prefixes of {what}"))
        if not codes and not prefixes:
            reader.fail(item, f"{what} needs codes or prefixes")
        out.append(
            LabelRuleSpec(rule_id, system, codes, prefixes, reader.refs(fields.get("labels"), f"the labels of {what}"))
        )
    return tuple(out)


def _competence(reader: _Reader, node: yaml.Node | None) -> CompetenceSpec | None:
    if node is None:
        return None
    fields = reader.mapping(
        node,
        "competence",
        ("description", "presumed_from_age", "own_request_categories", "rules"),
        required=("presumed_from_age",),
    )
    age = fields.get("presumed_from_age")
    rules = fields.get("rules")
    texts = reader.named(rules, "competence rules")
    for text in texts:
        if text.name.value not in COMPETENCE_RULES:
            reader.problems.append(
                Problem(
                    reader.source,
                    text.name.line,
                    f"unknown competence rule '{text.name.value}' (expected one of: {', '.join(COMPETENCE_RULES)})",
                )
            )
    return CompetenceSpec(
        line=_line(node),
        description=reader.text(fields.get("description"), "the competence description"),
        presumed_from_age=reader.integer(age, "competence presumed_from_age") if age is not None else 16,
        own_request_categories=reader.refs(fields.get("own_request_categories"), "competence own_request_categories"),
        texts=texts,
    )
