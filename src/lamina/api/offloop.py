"""Large request bodies are decoded and validated away from the server's event loop.

FastAPI decodes a JSON body and validates it against the route's model on the event loop,
before a (sync) route runs in the thread pool: a multi-megabyte draft would stall every
other request, `/health` included, for a good fraction of a second. A request whose body
passes `threshold` bytes is therefore served whole on an event loop of its own, in a worker
thread; messages to and from the client still go through the server's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

THRESHOLD = 256 * 1024
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class OffLoop:
    def __init__(self, app: ASGIApp, *, threshold: int = THRESHOLD) -> None:
        self.app = app
        self.threshold = threshold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        replay = _Replay(body, disconnected, receive)
        if len(body) <= self.threshold:
            await self.app(scope, replay.receive, send)
            return
        loop = asyncio.get_running_loop()

        async def bridged_receive() -> Message:
            message: Message = await _on(loop, replay.receive())
            return message

        async def bridged_send(message: Message) -> None:
            await _on(loop, send(message))

        served = self.app(scope, bridged_receive, bridged_send)
        await run_in_threadpool(_run_to_end, served)


def _run_to_end(work: Awaitable[None]) -> None:
    async def main() -> None:
        await work

    asyncio.run(main())


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body (the size limit around this app counts it), and whether the client
    went away while sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


class _Replay:
    """Hands the buffered body over once, then passes on what the client sends next."""

    def __init__(self, body: bytes, disconnected: bool, receive: Receive) -> None:
        self._first: Message | None = {"type": "http.request", "body": body, "more_body": False}
        self._disconnected = disconnected
        self._receive = receive

    async def receive(self) -> Message:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._disconnected:
            return {"type": "http.disconnect"}
        return await self._receive()


async def _on(loop: asyncio.AbstractEventLoop, work: Awaitable[Any]) -> Any:
    """Run `work` on `loop` (the server's) from the worker's own loop, without blocking it."""

    async def run() -> Any:
        return await work

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), loop))
