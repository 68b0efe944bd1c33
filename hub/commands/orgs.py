"""`onestory orgs`: the organisation directory the operator maintains (list, add, check).

The directory says who takes part (code in its real code system, type, name, contact, the HL7 MSH-4 values
each sender uses and the MLLP peers that may send as it); the policy's rules speak only of organisation
types. `add` appends to the operator's own directory file (`--directory` or ONESTORY_DIRECTORY_FILE), never
the bundled one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import yaml

from consent_engine import check_policy
from consent_engine.directory import (
    CODE_SYSTEMS,
    Directory,
    DirectoryError,
    Listing,
    MllpPeers,
    code_system,
    facility_key,
    read_directory,
    validate_code,
    validate_mllp_address,
)
from consent_engine.policy_parse import parse_spec
from hub.directory_file import default_directory_text, read_directory_file
from hub.policy_files import read_policy_file

_DIRECTORY = click.option(
    "--directory",
    "directory_path",
    default=None,
    envvar="ONESTORY_DIRECTORY_FILE",
    type=click.Path(dir_okay=False),
    help="Organisation directory YAML (default: ONESTORY_DIRECTORY_FILE, else the bundled directory).",
)
_POLICY = click.option(
    "--policy",
    "policy_path",
    default=None,
    envvar="ONESTORY_POLICY_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Data-sharing policy YAML whose organisation types apply (default: the bundled policy).",
)


def _policy_types(path: str | None) -> dict[str, str]:
    text, source = read_policy_file(path)
    spec, _ = parse_spec(text, source)
    if spec is None:
        raise click.ClickException(f"{source}: not a readable policy (run `onestory policy check {source}`)")
    return {named.name.value: named.description for named in spec.organisation_types}


def _existing(path: str | None) -> str | None:
    if path is not None and not Path(path).is_file():
        raise click.UsageError(f"no directory file at {path}")
    return path


def _load_or_exit(path: str | None) -> Directory:
    text, source = read_directory_file(_existing(path))
    try:
        return Directory.parse(text, source)
    except DirectoryError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from exc


@click.group()
def orgs() -> None:
    """The organisation directory: who takes part, their codes, types and HL7 sending facilities."""


@orgs.command("list")
@_DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print the listings as JSON.")
def list_(directory_path: str | None, as_json: bool) -> None:
    """Print the directory as a table: code, code system, type, name and HL7 MSH-4 values."""
    directory = _load_or_exit(directory_path)
    if as_json:
        click.echo(json.dumps([listing.as_mapping() for listing in directory], indent=2))
        return
    rows = [("code", "code system", "type", "name", "HL7 MSH-4", "MLLP senders")]
    for listing in directory:
        system = code_system(listing.code_system)
        alias = system.alias if system else listing.code_system
        facilities = ", ".join(listing.hl7_facilities) or "-"
        rows.append((listing.code, alias, listing.type, listing.name, facilities, _peers(listing.mllp)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[5])
    click.echo(f"{len(directory)} organisations in {directory.source}")


def _peers(peers: MllpPeers | None) -> str:
    if peers is None:
        return "-"
    return ", ".join([*peers.addresses, *(f"CN={cn}" for cn in peers.certificates)])


@orgs.command()
@_DIRECTORY
@_POLICY
def check(directory_path: str | None, policy_path: str | None) -> None:
    """Check a directory against the policy: code formats, duplicates, HL7 MSH-4 clashes, unknown types.

    Prints FILE:LINE: problem for each problem and exits 1 if there are any.
    """
    text, source = read_directory_file(_existing(directory_path))
    directory, problems = read_directory(text, source)
    policy_text, policy_source = read_policy_file(policy_path)
    problems += check_policy(policy_text, policy_source, directory)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    for listing in directory:
        if listing.hl7_facilities and listing.mllp is None:
            click.echo(
                f"{source}:{listing.line}: note: '{listing.code}' sends HL7 but lists no mllp senders: with "
                "mllp_sender_binding=enforce (the default) its MLLP messages are refused",
                err=True,
            )
    click.echo(f"{source}: ok ({len(directory)} organisations, every type defined by {policy_source})")


@orgs.command()
@_DIRECTORY
@_POLICY
@click.option("--code", required=True, help="The organisation's code in its code system (e.g. A81007).")
@click.option(
    "--system",
    "system_name",
    required=True,
    help="Code system: " + ", ".join(f"{s.alias} ({s.title}: {s.rule})" for s in CODE_SYSTEMS) + ", or its URI.",
)
@click.option("--type", "org_type", required=True, help="One of the policy's organisation types.")
@click.option("--name", required=True, help="The organisation's name as practitioners know it.")
@click.option("--contact", default="", help="Who to call about a shared record, e.g. 'duty team, 01632 960000'.")
@click.option(
    "--hl7-facility",
    "facilities",
    multiple=True,
    help="An HL7 v2 MSH-4 value the organisation sends under (repeatable; its ODS code, a local name).",
)
@click.option(
    "--mllp-address",
    "addresses",
    multiple=True,
    help="An IP address or network (CIDR) its MLLP connections come from (repeatable).",
)
@click.option(
    "--mllp-certificate",
    "certificates",
    multiple=True,
    help="The subject CN of a TLS client certificate it sends with over MLLP (repeatable).",
)
def add(
    directory_path: str | None,
    policy_path: str | None,
    code: str,
    system_name: str,
    org_type: str,
    name: str,
    contact: str,
    facilities: tuple[str, ...],
    addresses: tuple[str, ...],
    certificates: tuple[str, ...],
) -> None:
    """Add an organisation to the operator's directory file (created from the bundled one if it is new)."""
    if directory_path is None:
        raise click.UsageError(
            "give --directory FILE (or set ONESTORY_DIRECTORY_FILE): the bundled directory is not edited in place"
        )
    path = Path(directory_path)
    code = code.strip()
    problem = validate_code(code, system_name)
    if problem is not None:
        raise click.UsageError(problem)
    types = _policy_types(policy_path)
    if org_type not in types:
        raise click.UsageError(f"unknown organisation type '{org_type}' (the policy's types: {', '.join(types)})")
    text = path.read_text(encoding="utf-8") if path.is_file() else default_directory_text()
    try:
        directory = Directory.parse(text, os.fspath(path))
    except DirectoryError as exc:
        for found in exc.problems:
            click.echo(str(found), err=True)
        raise SystemExit(1) from exc
    known = directory.get(code)
    if known is not None:
        raise click.UsageError(f"organisation '{code}' is already in {path} ({known.name}, line {known.line})")
    for facility in facilities:
        holder = directory.by_hl7_facility(facility)
        if holder is not None:
            raise click.UsageError(f"HL7 sending facility '{facility}' already identifies '{holder.code}'")
    if len({facility_key(f) for f in facilities}) != len(facilities):
        raise click.UsageError("an HL7 sending facility is given twice")
    for address in addresses:
        if (bad := validate_mllp_address(address)) is not None:
            raise click.UsageError(f"--mllp-address: {bad}")
    if any(not cn.strip() for cn in certificates):
        raise click.UsageError("--mllp-certificate: a certificate CN cannot be empty")
    mllp = (
        MllpPeers(tuple(a.strip() for a in addresses), tuple(c.strip() for c in certificates))
        if addresses or certificates
        else None
    )
    system = code_system(system_name)
    assert system is not None  # validate_code checked it
    listing = Listing(
        code, system.uri, org_type, name.strip(), contact.strip(), tuple(f.strip() for f in facilities), mllp
    )
    path.write_text(_appended(text, listing, len(directory)), encoding="utf-8")
    click.echo(f"added {code} ({name}, {org_type}) to {path}")


def _appended(text: str, listing: Listing, count: int) -> str:
    """The file with the listing appended, keeping the operator's comments when the list is block style."""
    item = yaml.safe_dump([listing.as_mapping()], sort_keys=False, allow_unicode=True, width=1000)
    block = "".join(f"  {line}\n" for line in item.splitlines())
    candidate = text.rstrip("\n") + "\n" + block
    directory, problems = read_directory(candidate)
    if not problems and len(directory) == count + 1 and directory.get(listing.code) == listing:
        return candidate
    data = yaml.safe_load(text) or {}
    data.setdefault("organisations", []).append(listing.as_mapping())
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
