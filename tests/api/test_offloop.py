"""Large request bodies are served on an event loop of their own, in a worker thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from lamina.api.offloop import OffLoop


class Recorder:
    """An ASGI app that answers with the body it read and notes where it ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[int, asyncio.AbstractEventLoop]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ran.append((threading.get_ident(), asyncio.get_running_loop()))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def serve(app: OffLoop, chunks: list[bytes], method: str = "POST") -> tuple[list[Message], Any]:
    """Call `app` with a body sent in `chunks`; (what it sent, the loop it was called on)."""
    sent: list[Message] = []

    async def main() -> asyncio.AbstractEventLoop:
        pending = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]

        async def receive() -> Message:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await app({"type": "http", "method": method, "path": "/"}, receive, send)
        return asyncio.get_running_loop()

    return sent, asyncio.run(main())


def test_a_large_body_is_served_in_a_worker_thread_on_its_own_loop() -> None:
    inner = Recorder()
    sent, server_loop = serve(OffLoop(inner, threshold=10), [b"x" * 8, b"y" * 8])
    [(thread, loop)] = inner.ran
    assert thread != threading.get_ident() and loop is not server_loop
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"x" * 8 + b"y" * 8


def test_small_bodies_and_reads_stay_on_the_server_loop() -> None:
    for method, chunks in (("POST", [b"tiny"]), ("GET", [b""])):
        inner = Recorder()
        sent, server_loop = serve(OffLoop(inner, threshold=10), chunks, method)
        [(thread, loop)] = inner.ran
        assert thread == threading.get_ident() and loop is server_loop
        assert sent[1]["body"] == b"".join(chunks)
