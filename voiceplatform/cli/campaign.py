"""``voiceplatform campaign start|status|pause|resume|cancel ID`` and ``campaign list``, over the
HTTP API (``voiceplatform.client.http``). ``status --watch`` redraws a live progress bar until the
campaign ends."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from voiceplatform.client.http import ApiClient

STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled", "failed")  # CampaignStatus
TERMINAL = {"completed": 0, "cancelled": 1, "failed": 1}  # status -> exit code of `status --watch`
BAR_WIDTH = 30


class CommandFailed(click.ClickException):
    """Printed as ``error: <message>`` on stderr; exit status 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", err=True, file=file)


@dataclass(frozen=True)
class Target:
    api: str | None
    token: str | None

    def client(self) -> ApiClient:
        from voiceplatform.client.http import ApiClient

        return ApiClient.from_env(self.api, self.token)


@contextmanager
def api_errors() -> Iterator[None]:
    """API and connection errors become ``error: ...`` and exit 1."""
    from voiceplatform.client.http import ApiClientError

    try:
        yield
    except ApiClientError as exc:
        suffix = f" (HTTP {exc.status} {exc.code})" if exc.status else ""
        raise CommandFailed(f"{exc.message}{suffix}") from exc


@click.group("campaign")
@click.option("--api", metavar="URL", default=None,
              help="The API's base URL [default: $VOICEPLATFORM_API_URL, else http://127.0.0.1:8080].")
@click.option("--token", metavar="TOKEN", default=None,
              help="An API token [default: $VOICEPLATFORM_TOKEN, else .state/api-token written by `voiceplatform serve`].")
@click.pass_context
def campaign_group(ctx: click.Context, api: str | None, token: str | None) -> None:
    """Start, pause, resume, cancel and watch campaigns through the HTTP API."""
    ctx.obj = Target(api, token)


# ---- lifecycle ------------------------------------------------------------------------------------


def _action(name: str, done: str, help_text: str) -> None:
    @campaign_group.command(name, help=help_text)
    @click.argument("campaign_id", metavar="ID", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print the campaign as JSON.")
    @click.pass_obj
    def command(target: Target, campaign_id: int, as_json: bool) -> None:
        with api_errors():
            campaign = target.client().post(f"/campaigns/{campaign_id}/{name}")
        if as_json:
            click.echo(json.dumps(campaign, indent=2))
            return
        click.echo(f"campaign {campaign['id']} {_quoted(campaign)}{done}: now {campaign['status']}")


_action("start", "started", "Start campaign ID (draft or scheduled). Refused without credit.")
_action("pause", "paused", "Pause campaign ID: no new calls; calls in progress finish.")
_action("resume", "resumed", "Resume paused campaign ID.")
_action("cancel", "cancelled", "Cancel campaign ID: waiting contacts become final; calls in progress finish.")


@campaign_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only campaigns in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the campaigns as a JSON array.")
@click.pass_obj
def list_command(target: Target, status: str | None, as_json: bool) -> None:
    """List campaigns, newest first."""
    items: list[dict[str, Any]] = []
    with api_errors():
        client = target.client()
        page: int | None = 1
        while page is not None:
            answer = client.get("/campaigns", status=status, page=page, per_page=200)
            items.extend(answer["items"])
            page = answer.get("next")
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    if not items:
        click.echo("no campaigns")
        return
    rows = [(str(c["id"]), c["status"], c["name"], _flow(c), (c.get("started_at") or "-")[:19]) for c in items]
    widths = [max(len(row[i]) for row in [("ID", "STATUS", "NAME", "FLOW", "STARTED"), *rows]) for i in range(5)]
    for row in [("ID", "STATUS", "NAME", "FLOW", "STARTED"), *rows]:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())


# ---- status and --watch ---------------------------------------------------------------------------


@campaign_group.command("status")
@click.argument("campaign_id", metavar="ID", type=int)
@click.option("--watch", is_flag=True, help="Redraw a live progress bar until the campaign ends.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Seconds between refreshes with --watch.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the stats as JSON (with --watch: one JSON object per line at each change).")
@click.pass_obj
def status_command(target: Target, campaign_id: int, watch: bool, interval: float, as_json: bool) -> None:
    """Show campaign ID's progress: state, percent, outcomes, calls per second, time left.

    Without --watch the exit status is 0. With --watch the command redraws a progress bar (on a
    terminal; otherwise it prints one line whenever the figures change) until the campaign is
    completed, cancelled or failed, then exits 0 if it completed and 1 if it was cancelled or
    failed. Paused, draft and scheduled campaigns are watched until they end (Ctrl-C stops).
    """
    with api_errors():
        client = target.client()
        campaign = client.get(f"/campaigns/{campaign_id}")
        stats = campaign["progress"]
        if not watch:
            click.echo(json.dumps(stats, indent=2) if as_json else summary(campaign, stats))
            return
        out = sys.stdout
        view = JsonLines(out) if as_json else LiveView(out, campaign, tty=out.isatty())
        try:
            stats = watch_until_done(lambda: client.get(f"/campaigns/{campaign_id}/stats"), view, interval, stats)
        except KeyboardInterrupt:
            raise SystemExit(130) from None
    if not as_json:
        click.echo(summary(campaign, stats))
    sys.exit(TERMINAL[stats["status"]])


def watch_until_done(fetch: Callable[[], dict[str, Any]], view: View, interval: float,
                     stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """Show ``stats`` (fetched when not given) and fetch again every ``interval`` seconds until the
    campaign is in a terminal state; returns the last stats."""
    stats = stats if stats is not None else fetch()
    while True:
        view.show(stats)
        if stats["status"] in TERMINAL:
            return stats
        time.sleep(interval)
        stats = fetch()


class View:
    def show(self, stats: dict[str, Any]) -> None:
        raise NotImplementedError


class JsonLines(View):
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.last = ""

    def show(self, stats: dict[str, Any]) -> None:
        line = json.dumps(stats, separators=(",", ":"))
        if line != self.last:
            self.out.write(line + "\n")
            self.out.flush()
            self.last = line


class LiveView(View):
    """On a terminal: two lines redrawn in place (ANSI: cursor up, clear line). Elsewhere: one
    line per change, so a log or a pipe gets a readable history."""

    def __init__(self, out: IO[str], campaign: dict[str, Any], *, tty: bool) -> None:
        self.out = out
        self.title = f"campaign {campaign['id']} {_quoted(campaign)}".rstrip()
        self.tty = tty
        self.drawn = 0  # lines on screen from the last redraw
        self.last: list[str] = []

    def lines(self, stats: dict[str, Any]) -> list[str]:
        head = (f"{bar(stats['percent'])} {stats['percent']:5.1f}%  {stats['final']}/{stats['contacts']}  "
                f"{stats['status']}  {stats['calls_per_second']:.2f} calls/s  ETA {eta(stats)}")
        counts = (f"  {outcome_counts(stats)}  ({stats['in_progress']} in progress, {stats['waiting']} waiting)")
        return [head, counts]

    def show(self, stats: dict[str, Any]) -> None:
        lines = self.lines(stats)
        if self.tty:
            width = max(20, shutil.get_terminal_size().columns - 1)
            if self.drawn == 0:
                self.out.write(self.title + "\n")
            else:
                self.out.write(f"\x1b[{self.drawn}F")  # to the start of the first line drawn last time
            self.out.write("".join(f"\x1b[2K{line[:width]}\n" for line in lines))
            self.drawn = len(lines)
        elif lines != self.last:
            self.out.write(f"{lines[0]}  |{lines[1].strip() and ' ' + lines[1].strip()}\n")
        self.last = lines
        self.out.flush()


# ---- formatting -----------------------------------------------------------------------------------


def bar(percent: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(width * percent / 100)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def eta(stats: dict[str, Any]) -> str:
    seconds = stats.get("eta_seconds")
    if stats["status"] in TERMINAL:
        return "-"
    return "unknown" if seconds is None else duration(seconds)


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def outcome_counts(stats: dict[str, Any], key: str = "outcomes") -> str:
    counts = stats.get(key) or {}
    if not counts:
        return "no outcomes yet"
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{'not called' if name == 'none' else name} {count}" for name, count in ordered)


def summary(campaign: dict[str, Any], stats: dict[str, Any]) -> str:
    lines = [f"campaign {campaign['id']} {_quoted(campaign)}".rstrip() + f": {stats['status']}",
             f"progress: {bar(stats['percent'])} {stats['percent']:.1f}%  {stats['final']}/{stats['contacts']} contacts final, "
             f"{stats['in_progress']} in progress, {stats['waiting']} waiting",
             f"outcomes: {outcome_counts(stats)}",
             f"calls:    {stats['calls']} ({outcome_counts(stats, 'calls_by_outcome')})",
             f"rate:     {stats['calls_per_second']:.2f} calls/s   ETA {eta(stats)}"]
    if stats.get("reason"):
        lines.append(f"reason:   {stats['reason']}")
    return "\n".join(lines)


def _quoted(campaign: dict[str, Any]) -> str:
    return f"{json.dumps(campaign['name'], ensure_ascii=False)} " if campaign.get("name") else ""


def _flow(campaign: dict[str, Any]) -> str:
    flow = campaign.get("flow")
    return f"{flow['name']} v{flow['version']}" if flow else "-"
