"""Alembic environment: runs against the connection handed in by hub.db.migrate (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from hub.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `onestory migrate` (hub.db.migrate), which supplies the connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
