"""Every constant of ``voiceplatform smsc``, in one place."""

from __future__ import annotations

from pathlib import Path

#: Jasmin, pinned, in a virtualenv of its own (its Twisted stack never meets the platform's).
JASMIN_VERSION = "0.11.1"
#: setuptools 81 dropped pkg_resources, which Jasmin 0.11.1 imports.
JASMIN_REQUIREMENTS: tuple[str, ...] = (f"jasmin=={JASMIN_VERSION}", "setuptools<81")
#: Where that virtualenv lives: ``$VOICEPLATFORM_JASMIN_VENV``, else ``.venv-jasmin`` in the
#: instance folder (beside the project's ``.venv`` in a clone).
VENV_ENV = "VOICEPLATFORM_JASMIN_VENV"
VENV_SUBDIR = Path(".venv-jasmin")
#: A file in the virtualenv that says it was installed completely, and with what.
VENV_MARKER = Path("voiceplatform-jasmin.json")
#: How long pip may take.
INSTALL_TIMEOUT = 900.0

#: The smsc's folder inside the instance's ``.state/`` (voiceplatform.settings), unless
#: ``$VOICEPLATFORM_SMSC_STATE_DIR`` says otherwise: Jasmin's root, the Redis and RabbitMQ
#: folders, the handset network's records, the logs and the state file.
STATE_SUBDIR = Path("smsc")
STATE_DIR_ENV = "VOICEPLATFORM_SMSC_STATE_DIR"

#: Which RabbitMQ: "auto" (the machine's broker when one answers and rabbitmqctl reaches it,
#: else a private node), "shared" (the machine's, or fail) or "private" (always our own node).
RABBITMQ_ENV = "VOICEPLATFORM_SMSC_RABBITMQ"
RABBITMQ_MODES = ("auto", "shared", "private")
#: The machine's broker.
SHARED_AMQP_HOST = "127.0.0.1"
SHARED_AMQP_PORT = 5672
#: Debian's rabbitmqctl wrapper (as root it runs the real one as the rabbitmq user, with that
#: user's Erlang cookie), and the real scripts a private node is run with.
RABBITMQCTL = "rabbitmqctl"
RABBITMQ_BIN_DIR = Path("/usr/lib/rabbitmq/bin")
RABBITMQCTL_TIMEOUT = 30.0

#: Everything listens on loopback only.
HOST = "127.0.0.1"

#: The platform's ESME account on Jasmin (SMPP system_id and password hold at most 15 and 8
#: characters), its group, the connector to the handset network and the account Jasmin binds
#: to the handset network with.
ESME_GROUP = "platform"
ESME_USERNAME = "platform"
CONNECTOR_ID = "handsets"
UPSTREAM_SYSTEM_ID = "jasmin"
JCLI_USERNAME = "jcliadmin"

#: How long ``up`` waits for each part, and ``down`` for a process to exit.
START_TIMEOUT = 60.0
BIND_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: Jasmin re-sends a refused submit (ESME_RTHROTTLED, ESME_RMSGQFUL) after this many seconds,
#: at most this many times (its defaults, 30 s and 180 s, are a production carrier's).
RETRY_DELAY_SECONDS = 1
RETRY_COUNT = 20
#: The handset network's slow number delivers after this many seconds.
SLOW_RECEIPT_SECONDS = 3.0
