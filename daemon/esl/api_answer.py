"""The body of an ``api`` command's answer: from the reply, or later from the reply's future.

Both event-socket clients (the outbound :class:`~daemon.outbound.session.Session`,
the inbound :class:`~daemon.inbound.client.InboundClient`) answer ``api`` with
the body; ``api_sent`` writes the command at once, from a plain callback, and
hands back a future of that body.
"""

from __future__ import annotations

import asyncio

from daemon.esl.connection import ApiResponse, Reply


def api_body(reply: Reply) -> str:
    """The response body (a socket without ``full`` refuses api with a ``command/reply``: its text)."""
    return reply.text if isinstance(reply, ApiResponse) else reply.frame.reply_text


def body_later(reply: asyncio.Future[Reply]) -> asyncio.Future[str]:
    """A future of :func:`api_body` of ``reply`` (its failure or cancellation passed on)."""
    body: asyncio.Future[str] = reply.get_loop().create_future()

    def answered(done: asyncio.Future[Reply]) -> None:
        if body.done():
            return
        if done.cancelled():
            body.cancel()
        elif (error := done.exception()) is not None:
            body.set_exception(error)
        else:
            body.set_result(api_body(done.result()))

    reply.add_done_callback(answered)
    return body


def seen(answer: asyncio.Future[str]) -> None:
    """Mark a failed answer as looked at (asyncio logs one nobody retrieved); a task awaiting it still raises it.

    For :func:`body_later`'s futures whose waiter may be cancelled first (the call ended).
    """
    if not answer.cancelled():
        answer.exception()
