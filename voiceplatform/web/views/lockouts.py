"""``/lockouts``: the admin's view of people of their accounts locked out of signing in, and a
button to clear a lockout early (audited as ``login.unlocked``). Lockouts of IP addresses concern
every tenant, so they are cleared from the command line only (``voiceplatform users unlock --ip``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for

from voiceplatform.db.request_session import db
from voiceplatform.models import User
from voiceplatform.web.clock import now
from voiceplatform.web.people import AUDITORS
from voiceplatform.web.signin import USER, lockouts_of_accounts, unlock
from voiceplatform.web.viewer import requires, viewer

blueprint = Blueprint("lockouts", __name__)


@blueprint.route("/lockouts")
@requires(AUDITORS)
def lockouts_page() -> str:
    person = viewer()
    return render_template("lockouts.html", rows=lockouts_of_accounts(db(), person.account_ids, now()), viewer=person)


@blueprint.route("/lockouts/<int:lockout_id>/clear", methods=["POST"])
@requires(AUDITORS)
def clear_lockout(lockout_id: int) -> Response:
    person = viewer()
    found = {lockout.id: lockout for lockout, _ in lockouts_of_accounts(db(), person.account_ids, now())}
    lockout = found.get(lockout_id)
    if lockout is None:  # over already, or somebody else's: nothing to clear here
        abort(404, "no such lockout in force for your accounts")
    admin = db().get(User, person.user_id)
    unlock(db(), USER, lockout.key, now(), admin)
    flash(f"{lockout.key} may sign in again.", "ok")
    return redirect(url_for("web.lockouts.lockouts_page"))  # type: ignore[return-value]
