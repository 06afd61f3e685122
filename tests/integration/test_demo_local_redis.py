"""The first start gives the demo's database 1 a Redis found on this machine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdbexport.composition.demo_data import demo_document, find_local_redis
from bdbexport.domain import Endpoint
from tests.support.redis_server import RedisServer
from tests.support.server_process import free_port


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def test_a_redis_answering_on_the_port_is_found(redis: RedisServer) -> None:
    assert find_local_redis(port=redis.port) == Endpoint(addr=("127.0.0.1",), port=redis.port)


def test_nothing_listening_is_not_a_redis() -> None:
    assert find_local_redis(port=free_port()) is None


def test_another_kind_of_server_is_not_a_redis() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer_like_http() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(64)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer_like_http, daemon=True)
        thread.start()
        assert find_local_redis(port=listener.getsockname()[1]) is None
        thread.join(timeout=5)


def test_the_demo_gives_database_1_the_endpoint_it_is_handed() -> None:
    endpoint = Endpoint(addr=("127.0.0.1",), port=6379)
    document, _ = demo_document(endpoint)
    assert document.bdbs[0].endpoints == (endpoint,)
    assert all(not bdb.endpoints for bdb in document.bdbs[1:])
    plain, _ = demo_document()
    assert not plain.bdbs[0].endpoints
