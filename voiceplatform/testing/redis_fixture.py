"""pytest plugin: a private Redis server per test (:class:`voiceplatform.testing.redis.RedisServer`).

Register it project-wide with, in ``tests/conftest.py``::

    pytest_plugins = ["voiceplatform.testing.redis_fixture"]

or import the fixture into a directory's ``conftest.py``
(``from voiceplatform.testing.redis_fixture import redis_server``).

``redis_server`` starts an empty ``redis-server`` on a free port for each test (~20 ms) and stops
it afterwards, so a test may restart or kill it freely. Tests that use it are skipped, with the
reason, only when no ``redis-server`` binary is on PATH.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voiceplatform.testing.redis import RedisServer, redis_server_binary


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running private Redis server, empty, on 127.0.0.1; stopped after the test."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not on PATH: install Debian's redis-server package "
                    "(scripts/debian-packages.txt) to run the Redis tests")
    with RedisServer() as server:
        yield server
