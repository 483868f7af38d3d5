"""``voiceplatform contacts import FILE``: import contacts from CSV or Excel, with progress, through
the same importer as the API: all or nothing (a refused file, Ctrl-C or a kill leaves nothing),
and once (running the same command again prints the first import's report and applies nothing)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("contacts")
def contacts_group() -> None:
    """Contacts in the database (DATABASE_URL; SQLite in .state/ by default)."""


@contacts_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--account", default="default", show_default=True, help="The account's name (created if new).")
@click.option("--list", "list_name", default=None, help="Also put the contacts in a new contact list.")
@click.option("--append", is_flag=True, help="If the --list already exists, add the contacts to it (else: refused).")
@click.option("--region", default="US", show_default=True, help="Country for numbers written without +country code.")
@click.option("--phone-column", default=None, help="The phone column, if not phone/number/mobile/msisdn.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def import_command(file: Path, account: str, list_name: str | None, append: bool, region: str, phone_column: str | None,
                   as_json: bool) -> None:
    """Import FILE; print how many rows were created or updated, and every rejected row."""
    from voiceplatform.accounts import account_named
    from voiceplatform.contacts.importer import import_contacts
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.exceptions import ContactImportError, InputRejectedError

    upgrade()
    sessions = session_factory(make_engine())
    with sessions.begin() as session:
        account_id = account_named(session, account).id  # type: ignore[union-attr]
    size = file.stat().st_size
    try:
        with file.open("rb") as stream, click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar:
            done = [0]

            def progress(read: int) -> None:
                bar.update(max(0, min(read, size) - done[0]))
                done[0] = min(read, size)

            report = import_contacts(sessions, account_id, stream, file.name, list_name=list_name, append=append,
                                     phone_column=phone_column, default_region=region, progress=progress)
    except (ContactImportError, InputRejectedError) as exc:
        click.echo(f"error: {file}: {exc} (nothing was imported)", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    if report.replayed:
        click.echo(f"already imported (import {report.import_id}): nothing applied now; its report follows")
    click.echo(f"{report.rows} rows: {report.created} created, {report.updated} updated, {report.error_count} not imported")
    for error in report.errors:
        value = f" ({error.value})" if error.value else ""
        click.echo(f"{file}: row {error.row}: {error.message}{value}")
