"""`onestory policy`: check, explain, diff and render data-sharing policies.

This is where policy files are read (consent_engine never touches the filesystem). `load_policy` is also the
one way the rest of the hub loads a policy, so that the bundled default is found the same way everywhere.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from consent_engine import (
    Consenter,
    Entry,
    Policy,
    PolicyError,
    Scenario,
    ScenarioError,
    SharingBasis,
    Viewer,
    check_policy,
    decide,
    diff_policies,
    generated_scenarios,
    parse_policy,
    render_markdown,
    scenario_from_mapping,
)
from consent_engine.directory import DirectoryError
from consent_engine.policy_diff import entry_scenarios
from consent_engine.scenario import (
    break_glass_from_mapping,
    competence_from_mapping,
    consent_from_mapping,
    entry_sample_from_mapping,
    parse_time,
    relationship_from_mapping,
)
from hub.directory_file import load_directory
from hub.policy_files import load_policy, read_policy_file


def _load_or_exit(path: str | None, directory: str | None = None) -> Policy:
    try:
        return load_policy(path, directory)
    except (PolicyError, DirectoryError) as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from exc


DIRECTORY_OPTION = click.option(
    "--directory",
    "directory_path",
    default=None,
    envvar="ONESTORY_DIRECTORY_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Organisation directory YAML (default: the bundled directory).",
)


def _document(path: str) -> Any:
    """A JSON or YAML document (YAML is a superset of JSON)."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


@click.group()
def policy() -> None:
    """Data-sharing policies: check them, explain a decision, dry-run a change, render the docs."""


@policy.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@DIRECTORY_OPTION
def check(files: tuple[str, ...], directory_path: str | None) -> None:
    """Check policy FILES (default: the bundled policy): unknown names, contradictions, unreachable rules.

    Each policy is checked against the organisation directory too: every organisation type the directory uses
    must be one the policy defines. Prints FILE:LINE: problem for each problem and exits 1 if there are any.
    """
    try:
        directory = load_directory(directory_path)
    except DirectoryError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from exc
    failed = False
    for path in files or (None,):
        text, source = read_policy_file(path)
        problems = check_policy(text, source, directory)
        for problem in problems:
            click.echo(str(problem), err=True)
        failed = failed or bool(problems)
        if not problems:
            digest = parse_policy(text, source, directory).digest
            click.echo(f"{source}: ok with {directory.source} ({len(directory)} organisations; sha256 {digest})")
    if failed:
        raise SystemExit(1)


@policy.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@DIRECTORY_OPTION
def render(file: str | None, directory_path: str | None) -> None:
    """Print the policy FILE (default: the bundled policy) as Markdown, as in docs/policy.md."""
    click.echo(render_markdown(_load_or_exit(file, directory_path)), nl=False)


def _pairs(text: str, what: str) -> dict[str, Any]:
    """Parse "key=value,key=value" (lists separated by '+', e.g. categories=mental-health+referral)."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise click.BadParameter(f"expected key=value, got {part!r}", param_hint=what)
        out[key.strip().replace("-", "_")] = value.strip()
    return out


_SETS = ("organisations", "organisation_types", "categories", "purposes")
# (an assessment's categories are a set too: `categories=mental-health+referral`)
"""Fields given as lists on the command line, items separated by '+'."""
_BOOLS = ("competent",)


def _record(text: str, what: str) -> dict[str, Any]:
    fields = _pairs(text, what)
    for key in _SETS:
        if key in fields:
            fields[key] = [v for v in fields[key].split("+") if v]
    for key in _BOOLS:
        if key in fields:
            fields[key] = fields[key].lower() in ("yes", "true", "1", "y")
    return {k: (v if v != "" else None) for k, v in fields.items()}


def _scenario_from_flags(opts: dict[str, Any]) -> Scenario:
    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("viewer_role", "viewer_org", "category", "source_org")
        if not opts[name]
    ]
    if missing:
        raise click.UsageError(f"give --scenario FILE, or all of: {', '.join(missing)}")
    now = parse_time(opts["now"], "--now") if opts["now"] else datetime.now(UTC)
    glass = break_glass_from_mapping(_record(opts["break_glass"], "--break-glass")) if opts["break_glass"] else None
    viewer = Viewer(
        opts["viewer_user"],
        opts["viewer_org"],
        opts["viewer_role"],
        opts["purpose"],
        glass,
        opts["viewer_org_type"],
        opts["viewer_team"],
    )
    basis = SharingBasis(opts["basis"], opts["basis_ref"], opts["decision_maker"], opts["basis_reason"])
    entry = Entry(opts["entry_id"], opts["child"], opts["source_org"], opts["category"], tuple(opts["label"]), basis)
    consents = tuple(consent_from_mapping(_record(text, "--consent"), "--consent") for text in opts["consent"])
    if opts["birth_date"] or opts["assessment"]:  # what the hub knows of the young person's competence
        facts = competence_from_mapping(
            {
                "birth_date": opts["birth_date"],
                "assessments": [_record(text, "--assessment") for text in opts["assessment"]],
            },
            "--birth-date/--assessment",
        )
        consents = tuple(replace(c, competence=facts) if c.by is Consenter.YOUNG_PERSON else c for c in consents)
    relationships = tuple(
        relationship_from_mapping(_record(text, "--relationship"), "--relationship") for text in opts["relationship"]
    )
    return Scenario(consents, relationships, viewer, entry, now)


@policy.command()
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False), help="Policy YAML.")
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON/YAML file: {now, viewer, entry, consents, relationships} (instead of the flags).",
)
@click.option("--viewer-role")
@click.option("--viewer-org")
@click.option("--viewer-org-type", default=None, help="Checked against the policy's type for the organisation.")
@click.option("--viewer-user", default="cli-user", show_default=True)
@click.option("--viewer-team", default=None)
@click.option("--purpose", default="direct-care", show_default=True)
@click.option("--category")
@click.option("--source-org")
@click.option("--label", multiple=True, help="A sensitivity label of the entry (repeatable).")
@click.option(
    "--basis",
    type=click.Choice(["consent", "lawful-basis", "none"]),
    default="none",
    show_default=True,
    help="Sharing basis recorded at source.",
)
@click.option("--basis-ref", default=None, help="Consent record id or lawful basis code recorded at source.")
@click.option("--decision-maker", default=None, help="Who decided to share without consent.")
@click.option("--basis-reason", default=None, help="Why they decided to share without consent.")
@click.option("--child", default="child", show_default=True)
@click.option("--entry-id", default="entry", show_default=True)
@click.option(
    "--consent",
    multiple=True,
    help="A consent record, e.g. 'id=C1,status=given,by=young-person,"
    "competent=yes,organisation-types=camhs,categories=mental-health+referral,purposes=direct-care,"
    "recorded-at=2026-01-01T00:00:00Z' (repeatable; also start, end, withdraws, organisations).",
)
@click.option(
    "--birth-date", default=None, help="The young person's date of birth (ISO 8601), for the competence rules."
)
@click.option(
    "--assessment",
    multiple=True,
    help="A competence assessment of the young person, e.g. 'id=A1,outcome=competent,"
    "assessed-at=2026-02-01T10:00:00Z,assessed-by=camhs-clinician C4711,categories=mental-health' "
    "(repeatable; also recorded-at, decision, framework). With --birth-date, attached to every "
    "young-person --consent.",
)
@click.option(
    "--relationship",
    multiple=True,
    help="A legitimate relationship, e.g. 'organisation=RX4,"
    "role=camhs-clinician,start=2026-01-01T00:00:00Z' (repeatable; also end, user-id, team).",
)
@click.option(
    "--break-glass",
    default=None,
    help="e.g. 'reason=emergency-care,justification=...,child-id=child,starts-at=...,expires-at=...,categories=*'.",
)
@click.option("--now", default=None, help="ISO 8601 time of the decision (default: the current time).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@DIRECTORY_OPTION
def explain(
    policy_path: str | None, scenario_path: str | None, as_json: bool, directory_path: str | None, **opts: Any
) -> None:
    """Explain one decision: the level, the practitioner's message and the full derivation for IG."""
    loaded = _load_or_exit(policy_path, directory_path)
    try:
        scenario = scenario_from_mapping(_document(scenario_path)) if scenario_path else _scenario_from_flags(opts)
    except (ScenarioError, ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    decision = decide(loaded, scenario.consents, scenario.relationships, scenario.viewer, scenario.entry, scenario.now)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), indent=2))
        return
    click.echo(f"policy: {loaded.name} {loaded.version} ({loaded.source})")
    click.echo(f"practitioner sees: {decision.practitioner_message}")
    click.echo(decision.explanation)
    click.echo(competence_text(loaded))


def competence_text(loaded: Policy) -> str:
    """The policy's competence rules, as `policy explain` prints them under every derivation."""
    rules = loaded.competence
    own = ", ".join(sorted(rules.own_request_categories)) or "none"
    lines = [
        f"competence rules (presumed competent from {rules.presumed_from_age}; own requests that count whatever "
        f"the competence: {own}):"
    ]
    lines += [f"  - {name}: {text}" for name, text in rules.texts.items()]
    return "\n".join(lines)


@policy.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--entries",
    "entries_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON/YAML list of {entry, consents?, relationships?} to use instead of the generated sample.",
)
@click.option("--now", default=None, help="ISO 8601 time of the decisions (default: the current time).")
@click.option("--examples", default=10, show_default=True, help="How many changed decisions to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@DIRECTORY_OPTION
def diff(
    old: str,
    new: str,
    entries_path: str | None,
    now: str | None,
    examples: int,
    as_json: bool,
    directory_path: str | None,
) -> None:
    """Dry run: how many decisions change level from policy OLD to NEW (with one directory), by viewer role."""
    before, after = _load_or_exit(old, directory_path), _load_or_exit(new, directory_path)
    moment = parse_time(now, "--now") if now else datetime.now(UTC)
    if entries_path:
        document = _document(entries_path)
        if not isinstance(document, list):
            raise click.UsageError("--entries must hold a list of {entry, consents?, relationships?}")
        try:
            samples = [entry_sample_from_mapping(item, f"entries[{n}]") for n, item in enumerate(document)]
        except ScenarioError as exc:
            raise click.UsageError(str(exc)) from exc
        scenarios = entry_scenarios(before, after, samples, moment)
    else:
        scenarios = generated_scenarios(before, after, moment)
    report = diff_policies(before, after, scenarios, examples)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(
        f"{old} ({before.version}) -> {new} ({after.version}): {report.changed} of {report.decisions} "
        f"decisions change level ({report.widened} wider, {report.narrowed} narrower)"
    )
    click.echo(report.table())
    for change in report.examples:
        labels = "+".join(change.labels) or "-"
        click.echo(
            f"  {change.role} ({change.purpose}, {change.organisation}) {change.category} [{labels}] "
            f"{change.basis}: {change.old} -> {change.new}"
        )
