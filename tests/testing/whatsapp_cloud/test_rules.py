"""Meta's sending rules on the controllable clock: the 24-hour window, throughput per number
(inbound and outbound counted together), the pair rate limit, undeliverable users, forced errors."""

from __future__ import annotations

from tests.testing.whatsapp_cloud.helpers import body_params, error_of, send, statuses_of, template, text
from voiceplatform.testing.whatsapp_cloud import (
    SEED_NUMBER_ID, SEED_UPGRADED_NUMBER_ID, UNDELIVERABLE, ZOE, WebhookReceiver, WhatsAppCloudServer,
)


def hello_world(to: str) -> dict[str, object]:
    return template(to, "hello_world")


# ---------------------------------------------------------------- the 24 h customer-service window
def test_free_form_outside_the_window_is_131047(quiet_cloud: WhatsAppCloudServer) -> None:
    response = send(quiet_cloud, text(ZOE))
    assert response.status_code == 400 and error_of(response)["code"] == 131047


def test_an_inbound_message_opens_the_window(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.inject_text(ZOE, "hi")
    assert send(quiet_cloud, text(ZOE)).status_code == 200


def test_the_window_closes_24_hours_after_the_last_inbound_message(quiet_cloud: WhatsAppCloudServer) -> None:
    injected = quiet_cloud.client.inject_text(ZOE, "hi")
    quiet_cloud.client.advance_clock(24 * 3600 - 60)
    assert send(quiet_cloud, text(ZOE)).status_code == 200
    quiet_cloud.client.advance_clock(61)
    response = send(quiet_cloud, text(ZOE))
    assert error_of(response)["code"] == 131047
    assert quiet_cloud.client.window(injected["user_id"])["open"] is False


def test_each_inbound_message_refreshes_the_window(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.inject_text(ZOE, "hi")
    quiet_cloud.client.advance_clock(20 * 3600)
    quiet_cloud.client.inject_text(ZOE, "still there")
    quiet_cloud.client.advance_clock(20 * 3600)
    assert send(quiet_cloud, text(ZOE)).status_code == 200


def test_the_window_is_per_business_number(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.inject_text(ZOE, "hi", phone_number_id=SEED_NUMBER_ID)
    assert send(quiet_cloud, text(ZOE), number=SEED_UPGRADED_NUMBER_ID).status_code == 400


def test_templates_go_outside_the_window(quiet_cloud: WhatsAppCloudServer) -> None:
    assert send(quiet_cloud, hello_world(ZOE)).status_code == 200


def test_window_error_as_a_failed_status_after_a_200(whatsapp_cloud: WhatsAppCloudServer,
                                                     whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(window_error_mode="webhook")
    response = send(whatsapp_cloud, text(ZOE))
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    whatsapp_cloud.client.wait_for_webhooks()
    (failed,) = statuses_of(whatsapp_webhooks, wamid)
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131047
    assert "pricing" not in failed


# ---------------------------------------------------------------- throughput per number
def test_81st_message_in_one_second_at_tier_80_is_130429(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    for i in range(80):
        response = send(quiet_cloud, hello_world(f"1555100{i:04d}"))
        assert response.status_code == 200, (i, response.text)
    response = send(quiet_cloud, hello_world("15552000000"))
    assert response.status_code == 400 and error_of(response)["code"] == 130429
    quiet_cloud.client.advance_clock(1.0)
    assert send(quiet_cloud, hello_world("15552000000")).status_code == 200


def test_1001st_message_in_one_second_at_tier_1000_is_130429(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    for i in range(1000):
        response = send(quiet_cloud, hello_world(f"1555300{i:04d}"), number=SEED_UPGRADED_NUMBER_ID)
        assert response.status_code == 200, (i, response.text)
    response = send(quiet_cloud, hello_world("15554000000"), number=SEED_UPGRADED_NUMBER_ID)
    assert error_of(response)["code"] == 130429


def test_a_numbers_tier_is_set_by_the_control_call(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    quiet_cloud.client.set_tier(SEED_NUMBER_ID, 2)
    assert send(quiet_cloud, hello_world("15551000001")).status_code == 200
    assert send(quiet_cloud, hello_world("15551000002")).status_code == 200
    assert error_of(send(quiet_cloud, hello_world("15551000003")))["code"] == 130429


def test_inbound_messages_count_against_throughput(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    quiet_cloud.client.set_tier(SEED_NUMBER_ID, 3)
    for i in range(3):
        quiet_cloud.client.inject_text(f"1555600{i:04d}", "hi")
    assert error_of(send(quiet_cloud, hello_world("15556000000")))["code"] == 130429


def test_the_throughput_window_slides(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    quiet_cloud.client.set_tier(SEED_NUMBER_ID, 2)
    assert send(quiet_cloud, hello_world("15551000001")).status_code == 200
    quiet_cloud.client.advance_clock(0.6)
    assert send(quiet_cloud, hello_world("15551000002")).status_code == 200
    assert send(quiet_cloud, hello_world("15551000003")).status_code == 400
    quiet_cloud.client.advance_clock(0.5)  # the first left the window, the second has not
    assert send(quiet_cloud, hello_world("15551000003")).status_code == 200
    assert send(quiet_cloud, hello_world("15551000004")).status_code == 400


# ---------------------------------------------------------------- the pair rate limit
def test_pair_limit_allows_a_burst_of_45_then_131056(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    quiet_cloud.client.inject_text(ZOE, "hi")
    for i in range(45):
        assert send(quiet_cloud, text(ZOE, f"m{i}")).status_code == 200, i
    response = send(quiet_cloud, text(ZOE, "one too many"))
    assert response.status_code == 400 and error_of(response)["code"] == 131056
    quiet_cloud.client.advance_clock(6.0)  # one more every 6 s
    assert send(quiet_cloud, text(ZOE, "after 6 s")).status_code == 200
    assert error_of(send(quiet_cloud, text(ZOE, "again")))["code"] == 131056


def test_pair_limit_is_per_user(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.freeze_clock()
    quiet_cloud.client.set_tier(SEED_NUMBER_ID, 1000)
    for i in range(46):
        send(quiet_cloud, hello_world(ZOE))
    assert error_of(send(quiet_cloud, hello_world(ZOE)))["code"] == 131056
    assert send(quiet_cloud, hello_world("15558888888")).status_code == 200


# ---------------------------------------------------------------- undeliverable users, forced errors
def test_undeliverable_user_gets_a_failed_131026_status(whatsapp_cloud: WhatsAppCloudServer,
                                                        whatsapp_webhooks: WebhookReceiver) -> None:
    response = send(whatsapp_cloud, hello_world(UNDELIVERABLE))
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    whatsapp_cloud.client.wait_for_webhooks()
    (failed,) = statuses_of(whatsapp_webhooks, wamid)
    assert failed["status"] == "failed"
    (error,) = failed["errors"]
    assert error["code"] == 131026 and set(error) == {"code", "title", "message", "error_data", "href"}
    value = next(v for v in whatsapp_webhooks.values() if v.get("statuses"))
    assert "contacts" not in value  # Meta sends failed statuses without contacts


def test_forced_errors_sync_for_the_next_n_sends(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.force_error(131056, count=2)
    assert error_of(send(quiet_cloud, hello_world(ZOE)))["code"] == 131056
    assert error_of(send(quiet_cloud, hello_world(ZOE)))["code"] == 131056
    assert send(quiet_cloud, hello_world(ZOE)).status_code == 200


def test_forced_error_with_a_plain_429(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.force_error(130429, http_status=429)
    response = send(quiet_cloud, hello_world(ZOE))
    assert response.status_code == 429 and error_of(response)["code"] == 130429


def test_forced_error_only_for_one_recipient(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.force_error(131026, recipient="15559990000")
    assert send(quiet_cloud, hello_world(ZOE)).status_code == 200
    assert error_of(send(quiet_cloud, hello_world("15559990000")))["code"] == 131026


def test_forced_error_as_a_failed_status(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.force_error(131053, mode="webhook", details="media could not be fetched")
    response = send(whatsapp_cloud, template(ZOE, "order_update", components=body_params("Zo\u00eb", "A1")))
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    whatsapp_cloud.client.wait_for_webhooks()
    (failed,) = statuses_of(whatsapp_webhooks, wamid)
    assert failed["errors"][0]["code"] == 131053
    assert failed["errors"][0]["error_data"]["details"] == "media could not be fetched"
    assert whatsapp_cloud.client.sent()[0]["outcome"] == "failed:131053"
