"""``voiceplatform users``: people who sign in to the web UI (supervisors review recordings)."""

from __future__ import annotations

import sys

import click

ROLES = ("admin", "designer", "operator", "supervisor")


@click.group("users")
def users_group() -> None:
    """People who sign in to the web UI (DATABASE_URL; SQLite in .state/ by default)."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="supervisor", show_default=True)
@click.option("--account", default="default", show_default=True, help="The account's name.")
@click.option("--create-account", is_flag=True, help="Create the account if there is none of that name.")
@click.option("--name", default="", help="The person's name, as shown in the audit log.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def create_command(email: str, role: str, account: str, create_account: bool, name: str, password_stdin: bool) -> None:
    """Create a user who signs in with EMAIL and a password (asked for unless --password-stdin)."""
    from voiceplatform.accounts import account_named
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.models import Role
    from voiceplatform.web.people import UserError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    upgrade()
    sessions = session_factory(make_engine())
    try:
        with sessions.begin() as session:
            owner = account_named(session, account, create=create_account)
            if owner is None:
                raise UserError(f"no account named {account!r} (add --create-account to create it)")
            user = create_user(session, email, Role(role), owner, password, name)
            click.echo(f"user {user.id} {user.email}: {role} of account {owner.name} (id {owner.id})")
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@users_group.command("list")
def list_command() -> None:
    """Every user: id, e-mail, role, account, active."""
    from sqlalchemy import select

    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.models import User

    upgrade()
    with session_factory(make_engine())() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            state = "active" if user.active else "inactive"
            click.echo(f"{user.id}\t{user.email}\t{user.role.value}\t{user.account.name}\t{state}")


@users_group.command("unlock")
@click.argument("email", required=False)
@click.option("--ip", "address", default=None, help="Clear the lockout of this IP address instead (or as well).")
def unlock_command(email: str | None, address: str | None) -> None:
    """Let EMAIL (or --ip ADDRESS) sign in again now, after too many failed sign-ins (audited)."""
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.models.base import utcnow
    from voiceplatform.web.people import normalise_email
    from voiceplatform.web.signin import IP, USER, unlock

    if not email and not address:
        raise click.UsageError("give an e-mail address, --ip ADDRESS, or both")
    upgrade()
    sessions = session_factory(make_engine())
    with sessions.begin() as session:
        for scope, key in ((USER, normalise_email(email or "")), (IP, (address or "").strip())):
            if key:
                cleared = unlock(session, scope, key, utcnow(), None)
                state = f"cleared {len(cleared)} lockout(s)" if cleared else "was not locked out"
                click.echo(f"{key}: {state}; its failed sign-ins are forgotten")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of standard input.")
def set_password_command(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password; every session of that person is signed out (audited)."""
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.models.base import utcnow
    from voiceplatform.web import audit
    from voiceplatform.web.people import UserError, set_password, user_by_email

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    upgrade()
    sessions = session_factory(make_engine())
    try:
        with sessions.begin() as session:
            user = user_by_email(session, email)
            if user is None:
                raise UserError(f"no user with e-mail {email}")
            ended = set_password(session, user, password, utcnow())
            audit.record(session, audit.PASSWORD_CHANGE, user.account_id, None,
                         details={"user": user.email, "sessions_ended": ended, "by": "command line"})
            click.echo(f"{user.email}: password changed; {ended} session(s) signed out")
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
