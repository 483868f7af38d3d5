"""PostgreSQL: a batch's look-up (``= ANY(:array)``) is planned for its own array each time,
never from a generic plan cached while the table was small (voiceplatform.db.batch_plans); a
one-row statement is still prepared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from voiceplatform.db import make_engine, session_factory, upgrade
from voiceplatform.models.sms import SmsMessage
from voiceplatform.sessions.store import one_of
from voiceplatform.testing.postgres import fresh_database


@pytest.fixture(scope="module")
def postgresql() -> Iterator[Engine]:
    with fresh_database() as url:
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_a_batch_lookup_is_never_prepared_and_a_one_row_one_is(postgresql: Engine) -> None:
    with session_factory(postgresql)() as db:
        for _ in range(8):  # psycopg prepares a statement on its fifth execution
            db.execute(select(SmsMessage.id).where(one_of(db, SmsMessage.id, [1, 2, 3]))).all()
            db.execute(select(SmsMessage.id).where(SmsMessage.id == 1)).all()
        prepared = db.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert not [statement for statement in prepared if "ANY" in statement], prepared
    assert [statement for statement in prepared if "sms_messages.id = $1" in statement], prepared

