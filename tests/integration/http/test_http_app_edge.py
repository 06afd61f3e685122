"""The app `build_http_app` builds applies the edge rules itself (issue 21, item 6): a
test or an embedder that serves `HttpApp.app` gets the body deadline and the per-address
cap `serve` has, answered with the API's JSON and reported in its access log, without
wrapping anything. (tests/integration/http/test_edge_rules.py judges the rules alone;
the e2e suites judge them inside `bdbexport serve`.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message

from bdbexport.composition.http_app import EdgeSettings
from tests.support.http import ADMIN, make_http_world

PATH = "/v1/bdbs/1/actions/export"


def scope(client: str, *, authorization: str = ADMIN["Authorization"]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bdbexport.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"authorization", authorization.encode()),
        ],
        "client": (client, 50000),
        "server": ("bdbexport.test", 80),
    }


class Answer:
    """What the app sent back: its status and its JSON body."""

    def __init__(self) -> None:
        self.status = 0
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


def test_a_body_that_does_not_arrive_gets_the_408_of_the_body_deadline() -> None:
    world = make_http_world(edge=EdgeSettings(body_timeout=0.2))

    async def receive() -> Message:
        if not hasattr(receive, "began"):
            receive.began = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"{", "more_body": True}
        await asyncio.sleep(60)  # the rest never comes: the deadline ends the wait
        raise AssertionError("the body deadline did not end the wait")

    answer = Answer()
    asyncio.run(asyncio.wait_for(world.app(scope("10.0.0.1"), receive, answer.send), 30))
    assert answer.status == 408
    assert answer.json()["error_code"] == "request_timeout"


def test_the_per_address_cap_refuses_one_request_too_many_with_429() -> None:
    world = make_http_world(edge=EdgeSettings(max_requests_per_address=1))

    async def scenario() -> tuple[Answer, Answer, Answer]:
        body_arrives = asyncio.Event()
        first_reading = asyncio.Event()

        async def held_receive() -> Message:
            first_reading.set()
            await body_arrives.wait()  # this request stays in flight meanwhile
            return {"type": "http.request", "body": b"{}"}

        async def quick_receive() -> Message:
            return {"type": "http.request", "body": b"{}"}

        held, refused, other = Answer(), Answer(), Answer()
        first = asyncio.create_task(world.app(scope("10.0.0.1"), held_receive, held.send))
        await asyncio.wait_for(first_reading.wait(), 30)
        await world.app(scope("10.0.0.1"), quick_receive, refused.send)
        await world.app(scope("10.0.0.2"), quick_receive, other.send)  # another address
        body_arrives.set()
        await asyncio.wait_for(first, 30)
        return held, refused, other

    held, refused, other = asyncio.run(scenario())
    assert refused.status == 429
    assert refused.json()["error_code"] == "too_many_requests"
    # The held one and the other address's: admitted, their body `{}` judged by the app.
    assert (held.status, other.status) == (400, 400)
    # The refusal is in the app's access log, once (the edge's line, not the app's too).
    logged = [json.loads(line) for line in world.access_log]
    assert [(line["status"], line["client"]) for line in logged if line["status"] == 429] == [
        (429, "10.0.0.1")
    ]


def test_without_edge_settings_the_app_has_no_cap() -> None:
    world = make_http_world(edge=None)

    async def scenario() -> int:
        body_arrives = asyncio.Event()
        first_reading = asyncio.Event()

        async def held_receive() -> Message:
            first_reading.set()
            await body_arrives.wait()
            return {"type": "http.request", "body": b"{}"}

        async def quick_receive() -> Message:
            return {"type": "http.request", "body": b"{}"}

        held, second = Answer(), Answer()
        first = asyncio.create_task(world.app(scope("10.0.0.1"), held_receive, held.send))
        await asyncio.wait_for(first_reading.wait(), 30)
        await world.app(scope("10.0.0.1"), quick_receive, second.send)
        body_arrives.set()
        await asyncio.wait_for(first, 30)
        return second.status

    assert asyncio.run(scenario()) != 429
