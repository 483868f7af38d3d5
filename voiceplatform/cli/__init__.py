"""The ``voiceplatform`` command line. Each command group lives in its own module."""

from __future__ import annotations

import click

from voiceplatform import __version__


@click.group()
@click.version_option(__version__, prog_name="voiceplatform")
def main() -> None:
    """Run customer journeys over voice, SMS and WhatsApp from one flow definition."""


def _register() -> None:
    from voiceplatform.cli import call, campaign, contacts, db, demo, flow, lab, serve, smsc, users

    main.add_command(flow.flow_group)
    main.add_command(demo.demo_command)
    main.add_command(lab.lab_group)
    main.add_command(smsc.smsc_group)
    main.add_command(call.call_command)
    main.add_command(db.db_group)
    main.add_command(contacts.contacts_group)
    main.add_command(campaign.campaign_group)
    main.add_command(serve.serve_command)
    main.add_command(serve.worker_command)
    main.add_command(users.users_group)


_register()
