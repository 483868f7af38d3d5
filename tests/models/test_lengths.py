"""Every ``String(n)`` column of every model refuses a longer string before any SQL is sent
(voiceplatform.models.lengths), on SQLite (which would keep it) and PostgreSQL (which would fail
mid-transaction); a string of exactly ``n`` characters is stored and read back on both."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, String, select
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Session

from voiceplatform.exceptions import InvalidLanguageError, InvalidTimezoneError, ValueTooLongError
from voiceplatform.models import Account, ApiToken, Base, Role
from voiceplatform.models.lengths import check_row, column_lengths

LIMITED = [(mapper.class_, column.key, column.type.length) for mapper in Base.registry.mappers
           for column in mapper.local_table.columns
           if isinstance(column.type, String) and not isinstance(column.type, SqlEnum) and column.type.length]

VALIDATED_FIRST = {("contacts", "timezone"): InvalidTimezoneError, ("contacts", "language"): InvalidLanguageError}


def test_there_are_length_limited_columns_to_check() -> None:
    assert len(LIMITED) >= 30 and ("api_tokens", "name") in {(c.__tablename__, key) for c, key, _ in LIMITED}


@pytest.mark.parametrize(("model", "key", "length"), LIMITED, ids=[f"{m.__tablename__}.{k}" for m, k, _ in LIMITED])
def test_every_limited_column_refuses_one_character_more(model: type, key: str, length: int) -> None:
    row = model()
    attribute = next(p.key for p in model.__mapper__.column_attrs if p.columns[0].key == key)
    if (model.__tablename__, key) in VALIDATED_FIRST:  # their own validator refuses first, as a 422 too
        with pytest.raises(VALIDATED_FIRST[(model.__tablename__, key)]):
            setattr(row, attribute, "x" * (length + 1))
        return
    with pytest.raises(ValueTooLongError) as refused:
        setattr(row, attribute, "x" * (length + 1))
    assert (refused.value.table, refused.value.column, refused.value.max_length) == (model.__tablename__, key, length)
    assert refused.value.field == key and f"at most {length}" in str(refused.value)


def test_constructors_are_checked_too() -> None:
    with pytest.raises(ValueTooLongError):
        Account(name="a" * 10_000_000)


def test_core_rows_are_checked_with_check_row() -> None:
    table = ApiToken.__table__
    assert column_lengths(table)["name"] == 200 and "role" not in column_lengths(table)  # enums: checked by their enum
    check_row(table, {"name": "n" * 200, "prefix": None})
    with pytest.raises(ValueTooLongError):
        check_row(table, {"name": "n" * 201})


def test_a_value_of_exactly_the_length_is_stored(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        account = Account(name="a" * 200)
        session.add(account)
        session.flush()
        row, _ = ApiToken.issue(account, Role.OPERATOR, name="é" * 200)  # characters, not bytes
        session.add(row)
        session.flush()
        token_id = row.id
    with Session(engine) as session:
        assert session.scalars(select(ApiToken.name).where(ApiToken.id == token_id)).one() == "é" * 200
