"""``up``, ``down`` and ``status`` of the lab: the steps, in order, with their clean-ups."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from voiceplatform.exceptions import LabError, SwitchError
from voiceplatform.lab import (
    asterisk_config,
    chroot,
    defaults,
    leases,
    mounts,
    ports,
    process,
    resolver,
    sounds,
)
from voiceplatform.lab import state as state_file
from voiceplatform.lab.ami import AmiClient
from voiceplatform.lab.locking import exclusive_lock
from voiceplatform.lab.polling import poll
from voiceplatform.lab.settings import LabSettings
from voiceplatform.switches import credentials
from voiceplatform.lab.state import LabState


@dataclass(frozen=True)
class UpReport:
    state: LabState
    already_running: bool
    build: chroot.BuildReport | None
    seconds: float
    reloaded: bool = False  # already running, and dialplans/asterisk was installed again


@dataclass(frozen=True)
class DownReport:
    stopped: list[str] = field(default_factory=list)  # "pid 123: terminated"
    unmounted: list[Path] = field(default_factory=list)
    had_state: bool = False


@dataclass(frozen=True)
class StatusReport:
    running: bool
    state: LabState | None
    stale: bool  # a state file whose process is gone (a crash)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (debootstrap, chroot and mount)")


def running_state(settings: LabSettings) -> LabState | None:
    """The saved state, if its Asterisk is still the one running."""
    saved = state_file.load(settings.state_file)
    if saved and process.is_lab_asterisk(saved.pid, saved.process_start, Path(saved.root)):
        return saved
    return None


def status(settings: LabSettings) -> StatusReport:
    saved = state_file.load(settings.state_file)
    running = bool(
        saved and process.is_lab_asterisk(saved.pid, saved.process_start, Path(saved.root))
    )
    return StatusReport(running=running, state=saved, stale=bool(saved) and not running)


def _ami_ready(state: LabState, timeout: float) -> bool | None:
    """True once AMI accepts a login and Asterisk says FullyBooted; None to try again."""
    try:
        with AmiClient(state.ami_host, state.ami_port, timeout=timeout) as ami:
            ami.login(state.ami_username, state.ami_secret, events="system")
            ami.wait_event(lambda e: e.get("Event") == "FullyBooted", timeout)
            return True
    except (SwitchError, TimeoutError):
        return None


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _wait_until_ready(settings: LabSettings, state: LabState) -> None:
    def check() -> bool | None:
        if not process.is_alive(state.pid):
            raise LabError(
                f"Asterisk exited while starting; the end of {settings.log_file}:\n"
                + _log_tail(settings.log_file)
            )
        return _ami_ready(state, timeout=2.0)

    if not poll(check, defaults.START_TIMEOUT):
        raise LabError(
            f"AMI did not answer a login on {state.ami_host}:{state.ami_port} within "
            f"{defaults.START_TIMEOUT:.0f} s; the end of {settings.log_file}:\n"
            + _log_tail(settings.log_file)
        )


def _clean_up_after_crash(settings: LabSettings) -> DownReport:
    """Stop a leftover Asterisk of this lab, unmount leftovers, forget a stale state file."""
    saved = state_file.load(settings.state_file)
    stopped = []
    if saved and process.is_lab_asterisk(saved.pid, saved.process_start, Path(saved.root)):
        stopped.append(f"pid {saved.pid}: {process.stop(saved.pid)}")
    for pid in process.asterisks_in(settings.root):
        stopped.append(f"pid {pid} (no state file): {process.stop(pid)}")
    unmounted = mounts.unmount_all(settings.root) if settings.root.exists() else []
    state_file.remove(settings.state_file)
    return DownReport(stopped=stopped, unmounted=unmounted, had_state=saved is not None)


def _local_values(state: LabState) -> asterisk_config.LocalValues:
    return asterisk_config.LocalValues(
        ami_host=state.ami_host,
        ami_port=state.ami_port,
        ami_username=state.ami_username,
        ami_secret=state.ami_secret,
        agi_address=state.agi_address,
        media_dir=Path(state.media_dir),
        sip_port=state.sip_port,
    )


def _reload_if_changed(settings: LabSettings, state: LabState) -> LabState:
    """If dialplans/asterisk changed since the lab started, install it again and reload."""
    digest = asterisk_config.digest(settings.config_dir)
    if digest == state.config_digest:
        return state
    asterisk_config.install(settings.root, settings.config_dir, _local_values(state))
    resolver.install(settings.root)
    # Through Asterisk's CLI socket in the chroot: the lab's AMI user has no "system" or
    # "config" write, which AMI's Reload needs.
    process.reload(settings.root)
    updated = replace(state, config_digest=digest)
    state_file.save(settings.state_file, updated)
    return updated


def _mount(settings: LabSettings) -> None:
    root = settings.root
    mounts.mount_proc(root / "proc")
    mounts.bind(Path("/dev"), root / "dev")
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    mounts.bind(settings.media_dir, root / settings.media_dir.relative_to("/"))
    (root / "var/run/asterisk").mkdir(parents=True, exist_ok=True)


def _restart_values(previous: LabState | None) -> asterisk_config.LocalValues | None:
    """After a crash, start again on the same AMI port with the same credentials (when the port
    is free), as a production Asterisk restarts: connected workers then simply reconnect."""
    if previous is None or not ports.tcp_port_is_free(previous.ami_host, previous.ami_port):
        return None
    return _local_values(previous)


def up(settings: LabSettings) -> UpReport:
    """Start the lab, or report the one already running. Safe to call twice."""
    started = time.monotonic()
    _require_root()
    with exclusive_lock(settings.lock_file):
        current = running_state(settings)
        if current:
            if not resolver.installed(settings.root):  # a lab started before resolver.py existed
                resolver.install(settings.root)
            sounds.ensure_phrases(settings.root)  # phrases added since it started (a new callee's)
            updated = _reload_if_changed(settings, current)
            return UpReport(
                updated, True, None, time.monotonic() - started, reloaded=updated != current
            )
        others = process.asterisks_in(settings.root)
        if others:
            raise LabError(
                f"Asterisk already runs from {settings.root} (pid {', '.join(map(str, others))}) "
                f"but not as this project's lab ({settings.state_file}); stop it with "
                "`voiceplatform lab down`, or use another VOICEPLATFORM_LAB_ROOT"
            )
        previous = state_file.load(settings.state_file)
        _clean_up_after_crash(settings)
        build = chroot.ensure_chroot(settings.root, settings.mirror)
        sounds.ensure_phrases(settings.root)
        values = _restart_values(previous) or asterisk_config.LocalValues(
            ami_host=defaults.AMI_HOST,
            ami_port=ports.free_tcp_port(defaults.AMI_HOST),
            ami_username=defaults.AMI_USERNAME,
            ami_secret=credentials.lab_ami_secret(settings.state_dir),  # generated once, 0600
            agi_address=settings.agi_address,
            media_dir=settings.media_dir,
            sip_port=ports.free_udp_port(defaults.AMI_HOST),
        )
        asterisk_config.install(settings.root, settings.config_dir, values)
        resolver.install(settings.root)
        config_digest = asterisk_config.digest(settings.config_dir)
        (settings.media_dir / "recordings/lab").mkdir(parents=True, exist_ok=True)
        (settings.media_dir / "recordings/native").mkdir(parents=True, exist_ok=True)
        version = process.version(settings.root)
        _mount(settings)
        pid = process.start(settings.root, settings.log_file)
        state = LabState(
            pid=pid,
            process_start=process.start_time(pid) or 0,
            root=str(settings.root),
            ami_host=values.ami_host,
            ami_port=values.ami_port,
            ami_username=values.ami_username,
            ami_secret=values.ami_secret,
            agi_address=values.agi_address,
            media_dir=str(settings.media_dir),
            version=version,
            log_file=str(settings.log_file),
            started_at=time.time(),
            sip_port=values.sip_port,
            config_digest=config_digest,
        )
        state_file.save(settings.state_file, state)
        try:
            _wait_until_ready(settings, state)
        except LabError:
            _clean_up_after_crash(settings)
            raise
        return UpReport(state, False, build, time.monotonic() - started)


def down(settings: LabSettings, force: bool = False) -> DownReport:
    """Stop the lab's Asterisk by its pid and unmount what the lab mounted. Safe to call twice.

    Refuses while another process (a test session) holds a lease on the lab, unless ``force``.
    """
    _require_root()
    users = leases.holders(settings.state_dir)
    if users and not force:
        raise LabError(
            f"the lab is in use by process {', '.join(map(str, users))} (a test session?); "
            "wait for it, or force it down (`voiceplatform lab down --force`)"
        )
    with exclusive_lock(settings.lock_file):
        return _clean_up_after_crash(settings)
