"""`onestory identity`: the data stewards' review queue, merges and unmerges on the command line.

Works on the database directly (like `onestory migrate`), so it is for operators who hold database
credentials; every decision still names the steward and a reason and is written to the audit log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from hub.auth.roles import STEWARD_ROLE
from hub.db.engine import engine_for
from hub.db.migrate import upgrade
from hub.events.codec import EventCodec
from hub.policy_files import load_policy
from hub.read.identity_reviews import review_queue
from hub.settings import HubSettings
from projections.identity import review
from projections.identity.merging import IdentityError
from projections.identity.reproject import Reprojector

_db_options = [
    click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"), show_default=True
    ),
    click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in the data dir)."),
]
_policy_option = click.option("--policy-file", default=None, help="Data-sharing policy YAML (default: bundled).")
_who_options = [
    click.option("--user", required=True, help="The data steward's user id (recorded with the decision)."),
    click.option("--org", required=True, help="The steward's organisation code."),
]


def _with(options: list[Any]) -> Any:
    def wrap(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


def _engine(data_dir: Path, database: str | None) -> Engine:
    engine = engine_for(HubSettings(data_dir=data_dir, database=database))
    upgrade(engine)
    return engine


def _reprojector(data_dir: Path, policy_file: str | None) -> Reprojector:
    """With the policy and directory the hub runs with (ONESTORY_DIRECTORY_FILE, as the hub's)."""
    settings = HubSettings(data_dir=data_dir, policy_file=policy_file)
    return Reprojector.with_bundled_rules(EventCodec.load(), load_policy(settings.policy_file, settings.directory_file))


def _steward(user: str, org: str) -> review.Steward:
    return review.Steward(user, org, STEWARD_ROLE, "identity-management", "cli")


def _emit(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group()
def identity() -> None:
    """Identity resolution: review queue, merges and unmerges."""


@identity.group("review", invoke_without_command=True)
@click.pass_context
def review_group(ctx: click.Context) -> None:
    """The review queue (`list` is the default)."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@review_group.command("list")
@_with(_db_options)
@_with(_who_options)
@click.option("--status", type=click.Choice(["open", "linked", "not-same"]), default="open", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True)
def review_list(data_dir: Path, database: str | None, user: str, org: str, status: str, limit: int) -> None:
    """Print review items as JSON (with both children's records, for comparison)."""
    engine = _engine(data_dir, database)
    with engine.begin() as conn:
        _emit(review_queue(conn, _steward(user, org), datetime.now(UTC), status=status, limit=limit))


@review_group.command("decide")
@click.argument("review_id")
@click.option("--link", "decision", flag_value="link", help="They are the same child: merge.")
@click.option("--not-same", "decision", flag_value="not-same", help="They are different children.")
@click.option("--reason", required=True, help="Why (recorded with the decision and audited).")
@_with(_db_options)
@_with(_who_options)
@_policy_option
def review_decide(
    review_id: str,
    decision: str | None,
    reason: str,
    data_dir: Path,
    database: str | None,
    user: str,
    org: str,
    policy_file: str | None,
) -> None:
    """Decide one review item."""
    if decision not in ("link", "not-same"):
        raise click.UsageError("say --link or --not-same")
    engine = _engine(data_dir, database)
    try:
        with engine.begin() as conn:
            steward, again = _steward(user, org), _reprojector(data_dir, policy_file)
            _emit(review.decide(conn, review_id, decision, steward, reason, datetime.now(UTC), again))  # type: ignore[arg-type]
    except IdentityError as exc:
        raise click.ClickException(str(exc)) from exc


@identity.command("merges")
@_with(_db_options)
@click.option("--child", "child_id", default=None)
@click.option("--status", type=click.Choice(["active", "undone"]), default=None)
def merges(data_dir: Path, database: str | None, child_id: str | None, status: str | None) -> None:
    """List merges (ids only, no personal data)."""
    engine = _engine(data_dir, database)
    with engine.begin() as conn:
        _emit(review.list_merges(conn, child_id, status))


@identity.command("unmerge")
@click.argument("merge_id")
@click.option("--reason", required=True)
@_with(_db_options)
@_with(_who_options)
@_policy_option
def unmerge(
    merge_id: str, reason: str, data_dir: Path, database: str | None, user: str, org: str, policy_file: str | None
) -> None:
    """Undo a merge: the retired child and exactly its events come back."""
    engine = _engine(data_dir, database)
    try:
        with engine.begin() as conn:
            again = _reprojector(data_dir, policy_file)
            _emit(review.undo_merge(conn, merge_id, _steward(user, org), reason, datetime.now(UTC), again))
    except IdentityError as exc:
        raise click.ClickException(str(exc)) from exc
