"""Starting jasmind (through :mod:`voiceplatform.smsc.jasmin_launcher`, in Jasmin's own
virtualenv) and knowing when it is ready: its jCli accepts a login."""

from __future__ import annotations

from pathlib import Path

from voiceplatform.exceptions import SmscError
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import defaults, jasmin_config, processes
from voiceplatform.smsc.jcli import JCliClient
from voiceplatform.smsc.processes import ProcessRecord
from voiceplatform.smsc.settings import SmscSettings

LAUNCHER = Path(__file__).resolve().with_name("jasmin_launcher.py")


def start(settings: SmscSettings) -> ProcessRecord:
    root = settings.jasmin_root
    tmp = settings.state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = processes.clean_environment(ROOT_PATH=str(root), HOME=str(settings.state_dir),
                                      TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    command = [str(settings.jasmin_python), str(LAUNCHER),
               "--config", str(jasmin_config.config_path(root)),
               "--lock", str(settings.state_dir / "jasmind.lock")]
    return processes.spawn("jasmind", command, settings.jasmin_log, env, cwd=settings.state_dir)


def log_tail(settings: SmscSettings, lines: int = 25) -> str:
    try:
        return "\n".join(settings.jasmin_log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def jcli(port: int, password: str) -> JCliClient:
    """A logged-in jCli session (close it, or use ``with``)."""
    client = JCliClient(defaults.HOST, port)
    try:
        client.login(defaults.JCLI_USERNAME, password)
    except BaseException:
        client.close()
        raise
    return client


def wait_ready(settings: SmscSettings, record: ProcessRecord, jcli_port: int, password: str) -> None:
    def ready() -> bool | None:
        if not processes.is_running(record):
            raise SmscError(f"jasmind exited while starting; the end of {settings.jasmin_log}:\n"
                            + log_tail(settings))
        try:
            jcli(jcli_port, password).close()
        except SmscError:
            return None
        return True

    if not poll(ready, defaults.START_TIMEOUT):
        raise SmscError(f"Jasmin's jCli did not accept a login on {defaults.HOST}:{jcli_port} "
                        f"within {defaults.START_TIMEOUT:.0f} s; the end of {settings.jasmin_log}:\n"
                        + log_tail(settings))
