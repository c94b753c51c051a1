"""Watch a call without FreeSWITCH: ``python -m emulator call NUMBER --from CALLER``.

The emulator plays FreeSWITCH against a running daemon (``make run``): it places
one call into the daemon's outbound socket, keys what you give with ``--keys``,
lets every counsellor the daemon rings answer (after ``--answer-after`` seconds),
hangs up ``--talk`` seconds after the counsellor answered, and prints the call as
it happens: prompts heard, keys, ringing, bridge, hang-up.  With an operator
token (``--operator-token``, or ``CALLD_OPERATOR_TOKEN``) it then reads the
call record from the daemon's operator API and prints the charge and the
caller's balance.  The demo shop of ``make run``::

    python -m emulator call 0312345678 --from 09012345678 --keys 1 --talk 10

On an IVR number the token also lets it speak the customer's words
(:mod:`emulator.ivr_words`): the node and the guidance's name for each prompt,
"forwarded to …", and after the call the forwarding charge.  The IVR demo shop::

    python -m emulator call 0312340000 --from 09012345678 --keys 1 --talk 5 --operator-token TOKEN

Exit status: 0 the call ran as FreeSWITCH would have run it, 1 the emulator saw
a protocol error or could not reach the daemon, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import unquote

from emulator import ivr_words
from emulator.events import OutEvent
from emulator.ivr_words import IvrWords
from emulator.listener import Listener
from emulator.script import CallerScript, CallResult, FarEnd, FarEndKind, Keys
from emulator.switch import FakeFreeSwitch

PROG = "python -m emulator"
TOKEN_VARIABLE = "CALLD_OPERATOR_TOKEN"
RECORD_WAIT = 5.0  # seconds for the daemon to write the charge after the hang-up


class EveryoneAnswers(Mapping[str, FarEnd]):
    """The far end of any dial string: the counsellor phones of a shop we know nothing about."""

    def __init__(self, far_end: FarEnd) -> None:
        self.far_end = far_end

    def __getitem__(self, user: str) -> FarEnd:
        return self.far_end

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def headers(payload: bytes) -> dict[str, str]:
    """The headers of a plain event body (``Name: url-encoded value`` lines)."""
    found: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").split("\n"):
        if not line:
            break
        name, sep, value = line.partition(": ")
        if sep:
            found[name] = unquote(value)
    return found


_CHANNEL_VARIABLES = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]")  # {for all legs} [for one leg]


def prompt(path: str) -> str:
    """``/…/welcome.wav`` → ``welcome``; a ``file_string://a.wav!b.wav`` lead-in → ``a, then b``."""
    files = path.removeprefix("file_string://").split("!")
    return ", then ".join(f.rsplit("/", 1)[-1].removesuffix(".wav") for f in files)


def heard(media: str, words: IvrWords | None) -> str:
    """A prompt in words: the IVR node and guidance name where known, else the file's name."""
    if words is None:
        return prompt(media)
    files = media.removeprefix("file_string://").split("!")
    return ", then ".join(words.prompt(f) or ("beep" if f.startswith("tone_stream") else prompt(f)) for f in files)


def describe(name: str, h: Mapping[str, str], words: IvrWords | None = None) -> str | None:
    """One timeline line for an event of the caller's channel (None: nothing a person needs to see)."""
    if name == "CHANNEL_EXECUTE":
        app, data = h.get("Application", ""), h.get("Application-Data", "")
        if app == "playback" and data and not data.startswith("silence_stream"):
            return f"prompt   {heard(data, words)}" if not data.startswith("tone_stream") else f"tone     {data}"
        if app == "play_and_get_digits" and len(data.split()) > 5:
            return f"prompt   {heard(data.split()[5], words)} (waiting for keys)"
        if app == "bridge":
            forwarded = words.forward(data) if words is not None else None
            return f"ringing  {forwarded or _CHANNEL_VARIABLES.sub('', data)}"
        if app == "record" and words is not None:
            return f"record   {words.recording()}"
        if app == "pre_answer":
            return "early media (the call is not answered)"
        if app == "respond":
            return f"SIP      {data}"
        return None
    if name == "DTMF":
        return f"key      {h.get('DTMF-Digit', '?')}"
    if name == "CHANNEL_ANSWER":
        return "answered by the daemon"
    if name == "CHANNEL_BRIDGE":
        if words is not None:
            return "bridged  the forwarded phone answered: talking (the forwarding charge runs from now)"
        return "bridged  the counsellor answered: talking (billing starts now)"
    if name == "CHANNEL_UNBRIDGE":
        return "unbridged (the counsellor's leg is gone)"
    if name == "CHANNEL_HANGUP":
        return f"hang-up  {h.get('Hangup-Cause', '')}".rstrip()
    return None


@dataclass
class Timeline:
    """Prints the caller's channel events as they are fired, seconds since the call was placed."""

    out: TextIO
    words: IvrWords | None = None
    started: float = field(default_factory=time.monotonic)
    call_uuid: str | None = None
    bridged_at: float | None = None
    unbridged_at: float | None = None

    def event(self, event: OutEvent) -> None:
        if event.uuid is None or (self.call_uuid is not None and event.uuid != self.call_uuid):
            return
        h = headers(event.payload)
        if self.call_uuid is None:
            if h.get("Call-Direction") != "inbound":
                return
            self.call_uuid = event.uuid
        now = time.monotonic() - self.started
        if event.name == "CHANNEL_BRIDGE" and self.bridged_at is None:
            self.bridged_at = now
        if event.name == "CHANNEL_UNBRIDGE" and self.unbridged_at is None:
            self.unbridged_at = now
        line = describe(event.name, h, self.words)
        if line is not None:
            self.say(line, now)

    def say(self, text: str, at: float | None = None) -> None:
        when = time.monotonic() - self.started if at is None else at
        print(f"{when:7.2f}s  {text}", file=self.out, flush=True)


class WatchedSwitch(FakeFreeSwitch):
    """The emulator, with every fired event shown to a callback before it is delivered."""

    def __init__(self, watch: Callable[[OutEvent], None], **kw: Any) -> None:
        super().__init__(**kw)
        self._watch = watch

    def dispatch(self, event: OutEvent, own: Listener | None) -> None:
        self._watch(event)
        super().dispatch(event, own)


def _keys(text: str) -> Keys:
    digits = text if text.endswith("#") else text + "#"
    if not all(ch in "0123456789*#" for ch in digits):
        raise argparse.ArgumentTypeError(f"{text!r}: keys are digits, * and #")
    return Keys(digits)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 24 * 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: between 0 and 86400 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A FreeSWITCH 1.10 emulator for the calld daemon.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{call}")
    call = commands.add_parser(
        "call",
        help="place one call into a running daemon and print its timeline",
        description="Place one call into a running daemon (make run) as FreeSWITCH would, and print what happens.",
        epilog="Example (the demo shop of make run): python -m emulator call 0312345678 --from 09012345678"
        " --keys 1 --talk 10",
    )
    call.add_argument("number", help="the dialled number, e.g. 0312345678")
    call.add_argument("--from", dest="caller", required=True, help="the caller's number, e.g. 09012345678")
    call.add_argument(
        "--keys",
        type=_keys,
        action="append",
        default=[],
        help="what the caller keys at a keypad prompt, # added (repeat for the next prompt: a PIN, then a group)",
    )
    call.add_argument(
        "--talk", type=_seconds, default=10.0, help="seconds the caller talks once the counsellor answers (10)"
    )
    call.add_argument(
        "--counsellor",
        choices=("answer", "busy", "noanswer", "unreachable"),
        default="answer",
        help="what every counsellor phone does (answer)",
    )
    call.add_argument("--answer-after", type=_seconds, default=1.0, help="seconds a counsellor rings (1)")
    call.add_argument(
        "--esl", type=_address, default=("127.0.0.1", 8084), help="the daemon's event socket (127.0.0.1:8084)"
    )
    call.add_argument("--http", default="http://127.0.0.1:8080", help="the daemon's HTTP API (http://127.0.0.1:8080)")
    call.add_argument(
        "--operator-token",
        default=os.environ.get(TOKEN_VARIABLE, ""),
        help=f"an operator token of the number's tenant, to print the charge (or set {TOKEN_VARIABLE})",
    )
    return parser


async def place(args: argparse.Namespace, out: TextIO, words: IvrWords | None = None) -> CallResult:
    timeline = Timeline(out, words)
    host, port = args.esl
    fs = WatchedSwitch(timeline.event, host=host, port=port)
    kind: FarEndKind = args.counsellor
    script = CallerScript(
        caller=args.caller,
        destination=args.number,
        digits=list(args.keys),
        hangup_after_bridge=args.talk,
        far_ends=EveryoneAnswers(FarEnd(kind, answer_after=args.answer_after)),
    )
    print(f"calling {args.number} from {args.caller} through the daemon at {host}:{port}", file=out, flush=True)
    timeline.say("offered  the call reaches FreeSWITCH; the dialplan hands it to the daemon")
    try:
        result = await fs.place_call(script)
    finally:
        await fs.close()
    who = {"app": "the daemon", "caller": "the caller", "far_end": "the counsellor"}.get(result.hangup_by or "")
    by = who or result.hangup_by or "?"
    timeline.say(f"ended    {result.hangup_cause} (hung up by {by}); FreeSWITCH billsec {result.billsec} s")
    if timeline.bridged_at is not None:
        end = timeline.unbridged_at if timeline.unbridged_at is not None else time.monotonic() - timeline.started
        who = "the forwarded phone" if words is not None else "the counsellor"
        print(f"talk: about {end - timeline.bridged_at:.1f} s with {who}", file=out)
    return result


def fetch(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def operator_api(base: str, token: str) -> ivr_words.Fetch:
    """GET a path of the daemon's operator API with the token."""
    api = base.rstrip("/") + "/api/v1/operator"
    return lambda path: fetch(api + path, token)


def ivr_of(args: argparse.Namespace, out: TextIO) -> IvrWords | None:
    """The IVR words of the number's tenant, when the token is given and the tenant has a live flow."""
    if not args.operator_token:
        return None
    try:
        return ivr_words.load(operator_api(args.http, args.operator_token))
    except (OSError, ValueError, KeyError) as exc:  # URLError and HTTPError are OSErrors
        print(f"(could not read the IVR flow from {args.http}: {exc})", file=out)
        return None


def charge(base: str, token: str, call_uuid: str) -> str:
    """What the daemon booked for the call, from its operator API."""
    api = base.rstrip("/") + "/api/v1/operator"
    until = time.monotonic() + RECORD_WAIT
    record: dict[str, Any] | None = None
    while True:
        calls = fetch(f"{api}/calls?limit=50", token)["calls"]
        record = next((c for c in calls if c["call_uuid"] == call_uuid), None)
        if (record is not None and record["state"] == "ended") or time.monotonic() > until:
            break
        time.sleep(0.2)
    if record is None:
        return "charge: none (no call record: the call never got as far as a counsellor)"
    if record["state"] != "ended":
        return f"charge: not booked yet (the call record is still {record['state']})"
    text = (
        f"charge: {record['charge_yen'] or 0:,} yen for {record['billed_seconds'] or 0} billed seconds"
        f" (ended by {record['ended_by']})"
    )
    if record["caller_id"] is not None:
        caller = fetch(f"{api}/callers/{record['caller_id']}", token)
        text += f"; the balance of {caller['name']} is now {caller['balance_yen']:,} yen"
    return text


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    words = ivr_of(args, stream)
    result = asyncio.run(place(args, stream, words))
    if not result.connected:
        host, port = args.esl
        print(
            f"the daemon did not take the call at {host}:{port} (FreeSWITCH played its fallback):"
            " is it running (make run)?",
            file=stream,
        )
        return 1
    if args.operator_token:
        try:
            if words is not None:
                for line in ivr_words.summary(operator_api(args.http, args.operator_token), result.call_uuid):
                    print(line, file=stream)
            else:
                print(charge(args.http, args.operator_token, result.call_uuid), file=stream)
        except (OSError, ValueError, KeyError) as exc:  # URLError and HTTPError are OSErrors
            print(f"charge: could not read it from {args.http}: {exc}", file=stream)
    else:
        print(f"charge: pass --operator-token (or set {TOKEN_VARIABLE}) to read it from the daemon", file=stream)
    for error in result.errors:
        print(f"emulator: {error}", file=stream)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
