"""`onestory token`: a signed bearer token from the hub's own key (embedded default and tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from hub.auth.tokens import PURPOSES, AuthError, issue_token, load_or_create_signing_key


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"), show_default=True)
@click.option("--user", required=True, help="User id (e.g. a smartcard UUID or an agency system id).")
@click.option("--org", required=True, help="Organisation code: ODS code, school URN or LA code.")
@click.option("--role", required=True, help="Role, e.g. gp, camhs-clinician, teacher, social-worker, ig-officer.")
@click.option("--purpose", type=click.Choice(PURPOSES), default="direct-care", show_default=True)
@click.option("--ttl-minutes", type=int, default=480, show_default=True)
@click.option("--scope", "scopes", multiple=True, default=("user/*.read",), show_default=True)
def token(
    data_dir: Path, user: str, org: str, role: str, purpose: str, ttl_minutes: int, scopes: tuple[str, ...]
) -> None:
    """Print a signed bearer token for USER acting for ORG in ROLE."""
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
