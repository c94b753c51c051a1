"""The outbound socket's event subscription: ``myevents`` less what nobody reads (issue 22).

The lists in daemon/outbound/subscription.py are held to ``myevents``' own list (the
emulator's copy of mod_event_socket.c) and to the code: an event name the daemon
compares against must not be one the set-up write unsubscribes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from daemon.esl import Parser, replies
from daemon.esl.connection import CommandReply, Connection
from daemon.outbound.subscription import NIXED, WANTED
from emulator.listener import MYEVENTS

DAEMON = Path(__file__).resolve().parents[2] / "daemon"


def test_wanted_and_nixed_split_the_myevents_list() -> None:
    assert len(set(NIXED)) == len(NIXED)
    assert not WANTED & set(NIXED)
    assert WANTED | set(NIXED) == MYEVENTS


def test_no_code_reads_an_event_the_set_up_unsubscribes() -> None:
    read: dict[str, list[str]] = {}
    for path in DAEMON.rglob("*.py"):
        if path == DAEMON / "outbound" / "subscription.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in MYEVENTS:
                read.setdefault(node.value, []).append(f"{path.relative_to(DAEMON)}:{node.lineno}")
    assert {"CHANNEL_EXECUTE_COMPLETE", "CHANNEL_BRIDGE"} <= read.keys()  # the scan finds the consumers
    assert {name: where for name, where in read.items() if name not in WANTED} == {}


def test_nixevent_is_one_command_answered_in_order() -> None:
    conn = Connection()
    setup = [conn.connect(), conn.myevents(), conn.nixevent(NIXED), conn.linger(5)]
    (frame,) = Parser(commands=True).feed(setup[2].data)
    assert frame.line == "nixevent " + " ".join(NIXED)
    assert setup[2].line == "nixevent"
    conn.receive_data(replies.encoded_block([("Content-Type", "command/reply"), ("Reply-Text", "+OK")]))
    answers = conn.receive_data(
        replies.command_reply("+OK Events Enabled")
        + replies.command_reply("+OK events nixed")
        + replies.command_reply("+OK will linger 5 seconds")
    )
    assert [a.request if isinstance(a, CommandReply) else a for a in answers] == setup[1:]
    assert conn.nixevent(NIXED).data is setup[2].data  # encoded once per process
