"""`onestory token`: a signed bearer token from the hub's own key (embedded default and tests).

It refuses what the hub would refuse: a role not in the policy, an organisation not in the directory, and a
data dir without the hub's signing key (a new key would sign tokens the running hub rejects), unless
`--create-key` says a new hub is being set up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from hub.auth.roles import known_organisations, known_roles
from hub.auth.tokens import PURPOSES, AuthError, has_signing_key, issue_token, load_or_create_signing_key
from hub.policy_files import load_policy


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"), show_default=True)
@click.option("--user", required=True, help="User id (e.g. a smartcard UUID or an agency system id).")
@click.option("--org", required=True, help="Organisation code from the directory (`onestory orgs list`).")
@click.option("--role", required=True, help="A role of the policy, e.g. gp, camhs-clinician, ig-officer, system.")
@click.option("--purpose", type=click.Choice(PURPOSES), default="direct-care", show_default=True)
@click.option("--ttl-minutes", type=int, default=480, show_default=True)
@click.option("--scope", "scopes", multiple=True, default=("user/*.read",), show_default=True)
@click.option(
    "--policy",
    "policy_file",
    default=None,
    envvar="ONESTORY_POLICY_FILE",
    help="The hub's policy YAML (default: bundled).",
)
@click.option(
    "--directory",
    "directory_file",
    default=None,
    envvar="ONESTORY_DIRECTORY_FILE",
    help="The hub's organisation directory YAML (default: the bundled one).",
)
@click.option("--create-key", is_flag=True, help="Create a signing key if the data dir has none (a new hub).")
def token(
    data_dir: Path,
    user: str,
    org: str,
    role: str,
    purpose: str,
    ttl_minutes: int,
    scopes: tuple[str, ...],
    policy_file: str | None,
    directory_file: str | None,
    create_key: bool,
) -> None:
    """Print a signed bearer token for USER acting for ORG in ROLE."""
    policy = load_policy(policy_file, directory_file)
    roles = known_roles(policy)
    if role not in roles:
        _refuse(f"unknown role '{role}'; the policy's roles are: {', '.join(sorted(roles))}")
    if org not in known_organisations(policy):
        _refuse(f"unknown organisation '{org}'; `onestory orgs list` shows the directory's codes")
    if not has_signing_key(data_dir) and not create_key:
        _refuse(
            f"{data_dir} holds no signing key, so the hub would reject this token; "
            "give the hub's --data-dir, or --create-key to set up a new one"
        )
    try:
        key = load_or_create_signing_key(data_dir)
        click.echo(
            issue_token(
                key,
                user=user,
                organisation=org,
                role=role,
                purpose=purpose,
                now=datetime.now(UTC),
                ttl=timedelta(minutes=ttl_minutes),
                scopes=scopes,
            )
        )
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
