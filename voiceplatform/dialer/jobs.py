"""Jobs, on rq in production or in process in the embedded mode, behind one small interface.

The database is the source of truth and every worker's supervisor polls it each second, so a job
is a prompt, never the only record of work: a Redis that restarts empty loses no campaign and
no call. The jobs are:

- ``voiceplatform.dialer.jobs.wake_dialer``: look at the database now (a campaign started, a
  single call was asked for);
- ``voiceplatform.dialer.jobs.start_scheduled_campaign``: enqueued with rq's scheduler for a
  campaign's ``scheduled_at``.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

import gevent

from voiceplatform.models.base import utcnow

QUEUE_NAME = "voiceplatform"
_runtime: Any = None  # the DialerRuntime of this process, when it has one


def serve_jobs_with(runtime: Any) -> None:
    global _runtime
    _runtime = runtime


def wake_dialer() -> bool:
    if _runtime is None:
        return False
    _runtime.wake()
    return True


def start_scheduled_campaign(campaign_id: int) -> bool:
    if _runtime is None:
        return False
    from voiceplatform.campaigns import lifecycle
    from voiceplatform.models import Campaign

    with _runtime.context.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        started = campaign is not None and lifecycle.start_scheduled(session, campaign, _runtime.context.rates, utcnow())
    _runtime.wake()
    return started


class Jobs(Protocol):
    def enqueue(self, name: str, *args: Any) -> None: ...
    def enqueue_at(self, when: datetime, name: str, *args: Any) -> None: ...


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


class InProcessJobs:
    """The embedded mode: a job is a greenlet in this process."""

    def enqueue(self, name: str, *args: Any) -> None:
        gevent.spawn(_resolve(name), *args)

    def enqueue_at(self, when: datetime, name: str, *args: Any) -> None:
        gevent.spawn_later(max(0.0, (when - utcnow()).total_seconds()), _resolve(name), *args)


class RqJobs:
    """Production: rq on Redis. Failing to reach Redis never fails the request: the supervisors'
    polling does the work a little later."""

    def __init__(self, redis_url: str) -> None:
        import redis
        from rq import Queue

        self.queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(redis_url))

    def enqueue(self, name: str, *args: Any) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.enqueue(name, *args, result_ttl=60, failure_ttl=24 * 3600)
        except RedisError:
            pass

    def enqueue_at(self, when: datetime, name: str, *args: Any) -> None:
        from redis.exceptions import RedisError

        if when.microsecond:  # rq keeps whole seconds (rounded down): the job would run before `when`
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        try:
            self.queue.enqueue_at(when, name, *args, result_ttl=60, failure_ttl=24 * 3600)
        except RedisError:
            pass


class NoJobs:
    """An API with no runner of its own beside it: the workers poll the database."""

    def enqueue(self, name: str, *args: Any) -> None:
        return None

    def enqueue_at(self, when: datetime, name: str, *args: Any) -> None:
        return None
