"""``voiceplatform db upgrade``: create or migrate the database schema."""

from __future__ import annotations

import click


@click.group("db")
def db_group() -> None:
    """The database (DATABASE_URL; SQLite in .state/ by default)."""


@db_group.command("upgrade")
@click.option("--url", default=None, help="A SQLAlchemy URL (default: DATABASE_URL, else the embedded SQLite).")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(url: str | None, revision: str) -> None:
    """Bring the schema to the newest migration (safe to run twice)."""
    from voiceplatform.db import database_url, upgrade

    upgrade(url, revision)
    click.echo(f"database at {database_url(url).split('@')[-1]} is at revision {revision}")
