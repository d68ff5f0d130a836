"""Alembic environment: migrations run on the connection vault.catalog.db hands in."""

from alembic import context
from sqlmodel import SQLModel

from vault.catalog import models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for `alembic` run by hand
    raise SystemExit("run migrations through vault.catalog.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
)
context.run_migrations()
