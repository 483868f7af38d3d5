"""The account's WhatsApp templates in the API, on SQLite and PostgreSQL: flows validated,
created and published against them (problems at line and column; no synced templates, no
check), and a WhatsApp campaign's estimate pricing its opening template by category."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, app, client, error_code, tenants  # noqa: F401  (fixtures)
from tests.flow.helpers import REPO
from voiceplatform.models import Account
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import WhatsAppTemplate

REMINDER = (REPO / "ivr_flows" / "whatsapp_appointment_reminder.yaml").read_text()


def _templates(app: Flask, account: int, **statuses: str) -> None:
    """The account's synced templates: the reminder's two, with the statuses given."""
    with app.extensions["vp_sessions"].begin() as db:
        for row in db.query(WhatsAppTemplate).filter(WhatsAppTemplate.account_id == account).all():
            db.delete(row)
        db.flush()
        db.add_all([
            WhatsAppTemplate(account_id=account, name="appointment_reminder", language="en", category="UTILITY",
                             status=statuses.get("appointment_reminder", "APPROVED"), body_params=3,
                             quick_replies=["Confirm", "Cancel"], synced_at=utcnow()),
            WhatsAppTemplate(account_id=account, name="appointment_confirmed", language="en", category="UTILITY",
                             status=statuses.get("appointment_confirmed", "APPROVED"), body_params=2,
                             quick_replies=[], synced_at=utcnow()),
        ])


def _flow(name: str, text: str = REMINDER) -> str:
    return text.replace("name: whatsapp_appointment_reminder", f"name: {name}")


def test_an_account_without_synced_templates_is_checked_for_structure_only(client: FlaskClient,  # noqa: F811
                                                                           tenants: Tenants) -> None:  # noqa: F811
    unknown = REMINDER.replace("name: appointment_reminder", "name: no_such_template")
    answer = client.post("/flows/validate", json={"yaml": unknown}, headers=tenants.auth("globex"))
    assert answer.status_code == 200 and answer.get_json() == {"valid": True, "problems": []}


def test_validate_checks_the_accounts_templates_at_line_and_column(app: Flask, client: FlaskClient,  # noqa: F811
                                                                   tenants: Tenants) -> None:  # noqa: F811
    _templates(app, tenants.ids["acme"])
    admin = tenants.auth("acme")
    assert client.post("/flows/validate", json={"yaml": REMINDER}, headers=admin).get_json() == {"valid": True, "problems": []}
    broken = REMINDER.replace("name: appointment_reminder", "name: appointment_remindr").replace(
        'params: ["@appointment_date", "@appointment_time"]', 'params: ["@appointment_date"]')
    answer = client.post("/flows/validate", json={"yaml": broken}, headers=admin).get_json()
    assert answer["valid"] is False
    assert [(p["line"], p["column"], p["message"]) for p in answer["problems"]] == [
        (21, 13, "node 'remind': WhatsApp template 'appointment_remindr' is not among the account's templates; "
                 "did you mean 'appointment_reminder'?"),
        (39, 15, "node 'confirmed': WhatsApp template 'appointment_confirmed' (en) takes 2 body parameters; the node "
                 "gives 1"),
    ]


def test_create_refuses_a_template_that_is_not_approved(app: Flask, client: FlaskClient,  # noqa: F811
                                                        tenants: Tenants) -> None:  # noqa: F811
    _templates(app, tenants.ids["acme"], appointment_confirmed="PAUSED")
    created = client.post("/flows", json={"yaml": _flow("reminder_paused")}, headers=tenants.auth("acme"))
    assert created.status_code == 422 and error_code(created) == "invalid_flow"
    [problem] = created.get_json()["error"]["details"]["problems"]
    assert problem["text"] == ("flow.yaml:37:13: node 'confirmed': WhatsApp template 'appointment_confirmed' (en) is "
                               "PAUSED: only APPROVED templates can be sent")


def test_publish_checks_the_templates_again(app: Flask, client: FlaskClient, tenants: Tenants) -> None:  # noqa: F811
    _templates(app, tenants.ids["acme"])
    admin = tenants.auth("acme")
    created = client.post("/flows", json={"yaml": _flow("reminder_publish")}, headers=admin)
    assert created.status_code == 201, created.get_json()
    version = created.get_json()["version"]
    _templates(app, tenants.ids["acme"], appointment_reminder="DISABLED")  # Meta disabled it since
    refused = client.post(f"/flows/reminder_publish/versions/{version}/publish", headers=admin)
    assert refused.status_code == 422 and error_code(refused) == "invalid_flow"
    assert "is DISABLED: only APPROVED templates can be sent" in refused.get_json()["error"]["details"]["problems"][0]["message"]
    _templates(app, tenants.ids["acme"])
    published = client.post(f"/flows/reminder_publish/versions/{version}/publish", headers=admin)
    assert published.status_code == 200 and published.get_json()["status"] == "published"


def _campaign(app: Flask, client: FlaskClient, tenants: Tenants, tenant: str) -> dict[str, Any]:  # noqa: F811
    """A WhatsApp campaign of ``tenant`` on the reminder flow, to four contacts."""
    admin = tenants.auth(tenant)
    name = f"reminder_{tenant.replace('-', '_')}"
    created = client.post("/flows", json={"yaml": _flow(name)}, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert client.post(f"/flows/{name}/versions/{created.get_json()['version']}/publish", headers=admin).status_code == 200
    csv_text = "phone,first_name,appointment_date,appointment_time\n" + "".join(
        f"+1202555{n:04d},Ann{n},3 March,10:30\n" for n in range(4))
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv_text.encode()), "c.csv"), "list": f"wa-{uuid.uuid4().hex[:6]}"})
    assert report.get_json()["list_id"], report.get_json()
    with app.extensions["vp_sessions"].begin() as db:
        account = db.get(Account, tenants.ids[tenant])
        assert account is not None
        account.balance = Decimal("1")
    body = {"name": f"wa-{uuid.uuid4().hex[:6]}", "flow": {"name": name}, "channel": "whatsapp",
            "contact_list_id": report.get_json()["list_id"]}
    campaign = client.post("/campaigns", json=body, headers=tenants.auth(tenant, "operator"))
    assert campaign.status_code == 201, campaign.get_json()
    estimate = client.get(f"/campaigns/{campaign.get_json()['id']}/estimate", headers=tenants.auth(tenant, "operator"))
    assert estimate.status_code == 200, estimate.get_json()
    return estimate.get_json()


def test_the_estimate_prices_the_opening_template_by_its_category(app: Flask, client: FlaskClient,  # noqa: F811
                                                                 tenants: Tenants) -> None:  # noqa: F811
    _templates(app, tenants.ids["acme"])
    rates = app.extensions["vp_rates"]
    estimate = _campaign(app, client, tenants, "acme")
    assert (estimate["channel"], estimate["contacts"], estimate["sampled_contacts"]) == ("whatsapp", 4, 4)
    assert estimate["opening_templates"] == [{"name": "appointment_reminder", "language": "en", "category": "utility",
                                              "known": True, "per_contact": 1.0}]
    assert estimate["templates_per_contact"] == {"utility": 1.0} and estimate["notes"] == []
    assert estimate["rate_per_category"] == {"utility": str(rates.whatsapp_rate("utility"))}
    assert Decimal(estimate["estimated_cost"]) == (rates.whatsapp_rate("utility") * 4).quantize(Decimal("0.0001"))
    assert estimate["free_form_per_contact"] == 0.0  # the question goes as its template: nothing free-form
    assert estimate["sufficient"] is (Decimal("1") >= Decimal(estimate["estimated_cost"]))


def test_an_unknown_opening_template_is_priced_as_marketing(app: Flask, client: FlaskClient,  # noqa: F811
                                                           tenants: Tenants) -> None:  # noqa: F811
    rates = app.extensions["vp_rates"]
    estimate = _campaign(app, client, tenants, "globex")  # globex has synced no templates
    assert estimate["opening_templates"][0]["category"] == "marketing" and not estimate["opening_templates"][0]["known"]
    assert estimate["notes"] == ["template appointment_reminder (en) is not in the account's WhatsApp templates "
                                 "(none are synced): priced as marketing"]
    assert Decimal(estimate["estimated_cost"]) == (rates.whatsapp_rate("marketing") * 4).quantize(Decimal("0.0001"))
    assert Decimal(estimate["estimated_cost"]) == Decimal("1.0000")  # the brief's 0.25 a marketing message
    assert estimate["sufficient"] is True


@pytest.mark.parametrize("tenant", ["acme-eu"])
def test_a_sub_account_has_its_own_templates(client: FlaskClient, tenants: Tenants, tenant: str) -> None:  # noqa: F811
    unknown = REMINDER.replace("name: appointment_reminder", "name: no_such_template")
    assert client.post("/flows/validate", json={"yaml": unknown}, headers=tenants.auth(tenant)).get_json()["valid"]
