"""SQL storage: table definitions, engine creation and migrations (Alembic)."""
