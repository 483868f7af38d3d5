"""rq in production: a campaign scheduled through the API's job queue is started by rq's scheduler
and run by an rq worker, with a private Redis; and with Redis gone, enqueueing never fails a
request (the supervisors' polling does the work)."""

from __future__ import annotations

from datetime import timedelta

import gevent
import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import Engine

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.db import session_factory
from voiceplatform.dialer import jobs
from voiceplatform.dialer.jobs import QUEUE_NAME, RqJobs
from voiceplatform.models import Campaign, CampaignStatus
from voiceplatform.models.base import utcnow
from voiceplatform.testing.campaign_seed import seed_campaign
from voiceplatform.processes.worker import _schedule_loop


class RuntimeStub:
    """What the job functions use of a worker's runtime: its database and rates, and wake()."""

    def __init__(self, sessions) -> None:  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.context = SimpleNamespace(sessions=sessions, rates=Rates())
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@pytest.fixture
def runtime_stub(engine: Engine):  # type: ignore[no-untyped-def]
    stub = RuntimeStub(session_factory(engine))
    jobs.serve_jobs_with(stub)
    yield stub
    jobs.serve_jobs_with(None)


def test_a_scheduled_start_goes_through_rq_scheduler_and_worker(redis_server, engine: Engine, runtime_stub) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    when = utcnow() + timedelta(seconds=2)
    seeded = seed_campaign(sessions, ["+12025550901"], status=CampaignStatus.SCHEDULED, name="rq-scheduled")
    with sessions.begin() as session:
        session.get(Campaign, seeded.campaign_id).scheduled_at = when
    RqJobs(redis_server.url).enqueue_at(when, "voiceplatform.dialer.jobs.start_scheduled_campaign", seeded.campaign_id)
    client = redis_server.client()
    queue = Queue(QUEUE_NAME, connection=client)
    assert queue.scheduled_job_registry.count == 1 and queue.count == 0
    scheduler = gevent.spawn(_schedule_loop, client)
    try:
        with gevent.Timeout(15):
            while queue.count == 0:
                gevent.sleep(0.2)  # rq's scheduler moves the job to the queue at its time
    finally:
        scheduler.kill()
    SimpleWorker([queue], connection=client).work(burst=True)
    (job_id,) = queue.finished_job_registry.get_job_ids()
    assert queue.fetch_job(job_id).return_value() is True
    with sessions() as session:
        campaign = session.get(Campaign, seeded.campaign_id)
        assert campaign.status == CampaignStatus.RUNNING and campaign.started_at >= when - timedelta(seconds=1)
    assert runtime_stub.woken >= 1


def test_wake_job_reaches_the_runtime(redis_server, runtime_stub) -> None:  # type: ignore[no-untyped-def]
    RqJobs(redis_server.url).enqueue("voiceplatform.dialer.jobs.wake_dialer")
    client = redis_server.client()
    SimpleWorker([Queue(QUEUE_NAME, connection=client)], connection=client).work(burst=True)
    assert runtime_stub.woken == 1


def test_enqueueing_without_redis_never_fails_the_request(redis_server) -> None:  # type: ignore[no-untyped-def]
    queue = RqJobs(redis_server.url)
    redis_server.stop()
    queue.enqueue("voiceplatform.dialer.jobs.wake_dialer")  # no exception: the supervisors poll anyway
    queue.enqueue_at(utcnow(), "voiceplatform.dialer.jobs.wake_dialer")


def test_a_fractional_time_is_never_scheduled_before_itself(redis_server) -> None:  # type: ignore[no-untyped-def]
    when = utcnow().replace(microsecond=900_000) + timedelta(seconds=30)
    RqJobs(redis_server.url).enqueue_at(when, "voiceplatform.dialer.jobs.start_scheduled_campaign", 1)
    registry = Queue(QUEUE_NAME, connection=redis_server.client()).scheduled_job_registry
    (job_id,) = registry.get_job_ids()
    scheduled = registry.get_scheduled_time(job_id)
    assert when <= scheduled <= when + timedelta(seconds=1)  # rq's whole seconds, rounded up
