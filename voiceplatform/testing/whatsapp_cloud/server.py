"""The contract server in-process: a gevent WSGI server on 127.0.0.1, port 0 by default.

    with WhatsAppCloudServer(webhook_url=receiver.url, app_secret="s3cret", token="t0ken") as wa:
        httpx.post(f"{wa.graph_url}/{SEED_NUMBER_ID}/messages", headers={"Authorization": "Bearer t0ken"}, json=...)
        wa.client.inject_text("15551234567", "hi")
"""

from __future__ import annotations

import logging

from voiceplatform.testing.whatsapp_cloud.wsgi import NoDelayWSGIServer

from voiceplatform.testing.whatsapp_cloud.account import AccountSettings, CloudAccount
from voiceplatform.testing.whatsapp_cloud.app import create_app
from voiceplatform.testing.whatsapp_cloud.client import WhatsAppCloudClient
from voiceplatform.testing.whatsapp_cloud.clock import ControllableClock
from voiceplatform.testing.whatsapp_cloud.registry import Registry

log = logging.getLogger(__name__)

DEFAULT_VERSION = "v23.0"


class WhatsAppCloudServer:
    """:param webhook_url: the app's callback URL (None: webhooks are recorded, not posted).
    :param app_secret: the key of ``X-Hub-Signature-256``.
    :param token: the bearer token the Graph endpoints accept.
    :param clock: the controllable clock (a fresh one following real time by default).
    :param settings: window error mode and delivery behaviour (retries, duplicates...).
    :param registry: numbers, templates and users (the seed by default).
    """

    def __init__(self, *, webhook_url: str | None = None, app_secret: str = "test-app-secret",
                 token: str = "test-access-token", host: str = "127.0.0.1", port: int = 0,
                 clock: ControllableClock | None = None, settings: AccountSettings | None = None,
                 registry: Registry | None = None) -> None:
        self.host = host
        self._requested_port = port
        self.account = CloudAccount(webhook_url=webhook_url, app_secret=app_secret, token=token,
                                    clock=clock, settings=settings, registry=registry)
        self._server: NoDelayWSGIServer | None = None
        self._client: WhatsAppCloudClient | None = None

    def start(self) -> "WhatsAppCloudServer":
        app = create_app(self.account)
        self._server = NoDelayWSGIServer((self.host, self._requested_port), app, log=None, error_log=log)
        self._server.start()
        self.account.base_url = self.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None
        if self._client is not None:
            self._client.close()
            self._client = None
        self.account.close()

    def __enter__(self) -> "WhatsAppCloudServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None or self._server.server_port is None:
            raise RuntimeError("the contract server is not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graph_url(self) -> str:
        """The base the Graph paths go under, e.g. ``http://127.0.0.1:PORT/v23.0``."""
        return f"{self.url}/{DEFAULT_VERSION}"

    @property
    def token(self) -> str:
        return self.account.token

    @property
    def app_secret(self) -> str:
        return self.account.webhooks.app_secret

    @property
    def client(self) -> WhatsAppCloudClient:
        if self._client is None:
            self._client = WhatsAppCloudClient(self.url, self.token)
        return self._client
