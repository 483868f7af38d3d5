"""``voiceplatform worker``: a gevent process that dials, and runs rq jobs from Redis.

It starts the switch driver (none with ``--switch none`` / ``VOICEPLATFORM_SWITCH=none``: such a
worker runs messaging campaigns and stored sessions only) and the dialler supervisor (see
``voiceplatform.dialer.supervisor``), runs rq's scheduler loop in a greenlet (scheduled campaign
starts; rq's own scheduler would fork a process, which must not inherit live calls), and works the ``voiceplatform`` queue with rq's
SimpleWorker in the main greenlet. If Redis goes away, the worker keeps its calls going and
reconnects; on SIGTERM or SIGINT it stops taking work, lets its calls finish, and exits.
"""

from __future__ import annotations

import itertools
import logging
import signal
from typing import Any

import gevent

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


def run_worker(*, redis_url: str, database_url: str | None = None, switch: str | None = None,
               capacity: int | None = None, name: str | None = None) -> int:
    import redis
    from redis.exceptions import RedisError
    from rq import SimpleWorker

    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.jobs import QUEUE_NAME, serve_jobs_with
    from voiceplatform.dialer.process import start_dialer, worker_name

    upgrade(database_url)
    sessions = session_factory(make_engine(database_url))
    client = redis.Redis.from_url(redis_url, health_check_interval=10)
    name = name or worker_name()
    dialer = start_dialer(sessions, redis_client=client, switch=switch, capacity=capacity, worker=name)
    serve_jobs_with(dialer.runtime)
    scheduler = gevent.spawn(_schedule_loop, client)
    stopping = {"now": False}

    def request_stop(*_args: Any) -> None:
        stopping["now"] = True
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, request_stop)
    log.info("worker %s: dialling on %s, jobs from %s", name, switch or "the default switch", redis_url)
    try:
        for attempt in itertools.count(1):
            if stopping["now"]:
                break
            try:
                rq_worker = SimpleWorker([QUEUE_NAME], connection=client, name=f"{name}-rq{attempt}")
                rq_worker.work(logging_level="WARNING", with_scheduler=False)
                break
            except RedisError as exc:
                log.warning("worker %s: Redis unavailable (%s); calls go on, reconnecting", name, exc)
                gevent.sleep(RECONNECT_SECONDS)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        scheduler.kill()
        log.info("worker %s: stopping; letting %d campaigns' calls finish", name, len(dialer.runtime.dispatchers))
        dialer.stop()
    return 0


def _schedule_loop(client: Any) -> None:
    """rq's scheduler, one round a second, in a greenlet: moves due scheduled jobs to the queue."""
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.scheduler import RQScheduler

    from voiceplatform.dialer.jobs import QUEUE_NAME

    scheduler = RQScheduler([Queue(QUEUE_NAME, connection=client)], connection=client, logging_level="WARNING")
    while True:
        try:
            scheduler.acquire_locks()
            if scheduler.acquired_locks:
                scheduler.enqueue_scheduled_jobs()
        except RedisError:
            pass
        gevent.sleep(1.0)
