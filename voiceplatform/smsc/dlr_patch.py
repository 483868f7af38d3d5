"""The fix for jookies/jasmin#1236, applied to the installed Jasmin 0.11.1 at install time.

In 0.11.1, ``SMPPClientSMListener.submit_sm_resp_event`` (``jasmin/managers/listeners.py``)
builds the DLR it sends to the DLR lookup from ``_pdu.response``, where ``_pdu`` is the
*request* (a SubmitSM, which has no ``response``); the response is ``r.response``. The
AttributeError is caught and logged ("'SubmitSM' object has no attribute 'response'"), so the
submit_sm_resp never reaches the DLR lookup, and no delivery receipt is ever sent back to an
ESME that submitted over SMPP. 0.11.0 did not have the slip. The patch replaces the two
statements (four references) with ``r.response``, exactly as the issue describes, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from voiceplatform.exceptions import SmscError

PATCH_ID = "jookies/jasmin#1236"
TARGET = Path("jasmin/managers/listeners.py")

_BROKEN = (
    "dlr = DLR(pdu_type=_pdu.response.id, msgid=msgid, status=_pdu.response.status,\n"
    "                          smpp_msgid=_pdu.response.params['message_id'])",
    "dlr = DLR(pdu_type=_pdu.response.id, msgid=msgid, status=_pdu.response.status)",
)
_FIXED = tuple(statement.replace("_pdu.response", "r.response") for statement in _BROKEN)


def is_applied(site_packages: Path) -> bool:
    text = _read(site_packages)
    return all(fixed in text for fixed in _FIXED) and not any(broken in text for broken in _BROKEN)


def apply(site_packages: Path) -> bool:
    """Patch Jasmin under ``site_packages``; True if it changed the file, False if it was
    already patched. SmscError if the code is neither (another Jasmin than 0.11.1)."""
    path = site_packages / TARGET
    text = _read(site_packages)
    if is_applied(site_packages):
        return False
    if not all(text.count(broken) == 1 for broken in _BROKEN):
        raise SmscError(f"{path} does not hold the code {PATCH_ID} fixes (is it Jasmin 0.11.1?); "
                        "delete the Jasmin virtualenv and run `voiceplatform smsc install`")
    for broken, fixed in zip(_BROKEN, _FIXED):
        text = text.replace(broken, fixed)
    path.write_text(text, encoding="utf-8")
    for compiled in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        compiled.unlink()
    return True


def _read(site_packages: Path) -> str:
    path = site_packages / TARGET
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SmscError(f"cannot read {path}: {exc}") from exc
