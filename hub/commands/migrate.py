"""`onestory migrate`: apply every Alembic head to the database (the helm migration Job runs this).

The same code path as `onestory up` (hub.db.migrate.upgrade), so a database migrated by the Job is the
one the API and the processors expect.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import make_url

from hub.db.engine import engine_for
from hub.db.migrate import upgrade
from hub.settings import HubSettings


@click.command()
@click.option(
    "--database", default=None, help="SQLAlchemy URL (default: ONESTORY_DATABASE, else SQLite in the data dir)."
)
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def migrate(database: str | None, revision: str) -> None:
    """Bring the database schema up to date; safe to run again (already-applied revisions are skipped)."""
    given: dict[str, Any] = {"database": database} if database else {}
    settings = HubSettings(**given)
    url = settings.database_url()
    if not settings.database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine_for(settings)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"migrated {make_url(url).render_as_string(hide_password=True)} to {revision}")
