"""The FreeSWITCH configuration we ship: routing to the daemon, fail-closed fallback, inbound ESL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from daemon.config import Settings
from daemon.prompts import PROMPTS

CONF = Path(__file__).resolve().parents[2] / "freeswitch" / "conf"
DIALPLAN = CONF / "dialplan" / "public" / "00_calld.xml"
EVENT_SOCKET = CONF / "autoload_configs" / "event_socket.conf.xml"
CDR_PG_CSV = CONF / "autoload_configs" / "cdr_pg_csv.conf.xml"
PROMPTS_DIR = "/var/lib/calld/prompts"  # StateDirectory=calld + "prompts" (systemd/calld.service)

# CAUSE_CHART of src/switch_channel.c (signalwire/freeswitch): the names `hangup` accepts.
# An unknown name does not fail: switch_channel_str2cause() returns NONE and the hangup goes
# out as NORMAL_CLEARING (seen with "TEMPORARY_FAILURE", transcripts/no_daemon_fallback.md).
CAUSE_NAMES = frozenset(
    [
        "NONE",
        "UNALLOCATED_NUMBER",
        "NO_ROUTE_TRANSIT_NET",
        "NO_ROUTE_DESTINATION",
        "CHANNEL_UNACCEPTABLE",
        "CALL_AWARDED_DELIVERED",
        "NORMAL_CLEARING",
        "USER_BUSY",
        "NO_USER_RESPONSE",
        "NO_ANSWER",
        "SUBSCRIBER_ABSENT",
        "CALL_REJECTED",
        "NUMBER_CHANGED",
        "REDIRECTION_TO_NEW_DESTINATION",
        "EXCHANGE_ROUTING_ERROR",
        "DESTINATION_OUT_OF_ORDER",
        "INVALID_NUMBER_FORMAT",
        "FACILITY_REJECTED",
        "RESPONSE_TO_STATUS_ENQUIRY",
        "NORMAL_UNSPECIFIED",
        "NORMAL_CIRCUIT_CONGESTION",
        "NETWORK_OUT_OF_ORDER",
        "NORMAL_TEMPORARY_FAILURE",
        "SWITCH_CONGESTION",
        "ACCESS_INFO_DISCARDED",
        "REQUESTED_CHAN_UNAVAIL",
        "PRE_EMPTED",
        "FACILITY_NOT_SUBSCRIBED",
        "OUTGOING_CALL_BARRED",
        "INCOMING_CALL_BARRED",
        "BEARERCAPABILITY_NOTAUTH",
        "BEARERCAPABILITY_NOTAVAIL",
        "SERVICE_UNAVAILABLE",
        "BEARERCAPABILITY_NOTIMPL",
        "CHAN_NOT_IMPLEMENTED",
        "FACILITY_NOT_IMPLEMENTED",
        "SERVICE_NOT_IMPLEMENTED",
        "INVALID_CALL_REFERENCE",
        "INCOMPATIBLE_DESTINATION",
        "INVALID_MSG_UNSPECIFIED",
        "MANDATORY_IE_MISSING",
        "MESSAGE_TYPE_NONEXIST",
        "WRONG_MESSAGE",
        "IE_NONEXIST",
        "INVALID_IE_CONTENTS",
        "WRONG_CALL_STATE",
        "RECOVERY_ON_TIMER_EXPIRE",
        "MANDATORY_IE_LENGTH_ERROR",
        "PROTOCOL_ERROR",
        "INTERWORKING",
        "SUCCESS",
        "ORIGINATOR_CANCEL",
        "CRASH",
        "SYSTEM_SHUTDOWN",
        "LOSE_RACE",
        "MANAGER_REQUEST",
        "BLIND_TRANSFER",
        "ATTENDED_TRANSFER",
        "ALLOTTED_TIMEOUT",
        "USER_CHALLENGE",
        "MEDIA_TIMEOUT",
        "PICKED_OFF",
        "USER_NOT_REGISTERED",
        "PROGRESS_TIMEOUT",
        "INVALID_GATEWAY",
        "GATEWAY_DOWN",
        "INVALID_URL",
        "INVALID_PROFILE",
        "NO_PICKUP",
    ]
)

# Applications that would answer, pre-answer or otherwise touch media before the daemon decides.
MEDIA_APPS = {"answer", "pre_answer", "ring_ready", "playback", "bridge", "play_and_get_digits", "sleep"}


def actions(path: Path) -> tuple[ET.Element, list[tuple[str, str]]]:
    condition = ET.parse(path).getroot().find("./extension[@name='calld']/condition")
    assert condition is not None, "extension 'calld' with a condition"
    return condition, [(a.get("application", ""), a.get("data", "")) for a in condition.findall("action")]


def number_regex() -> re.Pattern[str]:
    condition, _ = actions(DIALPLAN)
    assert condition.get("field") == "destination_number"
    return re.compile(condition.get("expression", ""))


def test_socket_goes_to_the_daemon() -> None:
    _, acts = actions(DIALPLAN)
    sockets = [data for app, data in acts if app == "socket"]
    assert len(sockets) == 1
    address, *flags = sockets[0].split()
    host, port = address.rsplit(":", 1)
    assert host == Settings.model_fields["esl_host"].default
    assert int(port) == Settings.model_fields["esl_port"].default
    assert flags == ["async", "full"]


def test_nothing_answers_before_the_socket() -> None:
    _, acts = actions(DIALPLAN)
    before = [app for app, _ in acts[: [app for app, _ in acts].index("socket")]]
    assert not MEDIA_APPS & set(before), before


def test_fails_closed_after_the_socket() -> None:
    _, acts = actions(DIALPLAN)
    apps = [app for app, _ in acts]
    after = acts[apps.index("socket") + 1 :]
    playbacks = [data for app, data in after if app == "playback"]
    assert len(playbacks) == 1
    wav = Path(playbacks[0])
    assert wav.is_absolute() and str(wav.parent) == PROMPTS_DIR and wav.suffix == ".wav"
    assert wav.stem == "unavailable" and wav.stem in PROMPTS
    last_app, cause = after[-1]
    assert last_app == "hangup", "the fallback must end the call"
    assert cause in CAUSE_NAMES, f"{cause!r} is not a FreeSWITCH cause name"
    assert cause == "NORMAL_TEMPORARY_FAILURE"
    assert apps.index("playback") < len(apps) - 1


def test_cause_list_rejects_the_name_that_bit_us() -> None:
    assert "TEMPORARY_FAILURE" not in CAUSE_NAMES
    assert {"NORMAL_TEMPORARY_FAILURE", "NORMAL_CLEARING", "ALLOTTED_TIMEOUT", "USER_BUSY"} <= CAUSE_NAMES


@pytest.mark.parametrize(
    ("received", "national"),
    [
        ("0312345678", "0312345678"),
        ("+81312345678", "0312345678"),
        ("81312345678", "0312345678"),
        ("0120123456", "0120123456"),
        ("+81120123456", "0120123456"),
        ("08001234567", "08001234567"),
        ("+818001234567", "08001234567"),
    ],
)
def test_our_numbers_match_and_normalise(received: str, national: str) -> None:
    match = number_regex().search(received)
    assert match is not None
    _, acts = actions(DIALPLAN)
    (rewrite,) = [data for app, data in acts if app == "set_profile_var"]
    name, value = rewrite.split("=", 1)
    assert name == "destination_number"
    assert value.replace("$1", match.group(1)) == national


@pytest.mark.parametrize(
    "received",
    [
        "",
        "031234567",  # 9 digits
        "03123456789",  # 11 digits
        "0612345678",  # Osaka, not ours
        "09012345678",  # mobile
        "012012345",  # toll-free, too short
        "01201234567",  # 0120 is 10 digits
        "0800123456",  # 0800 is 11 digits
        "+810312345678",  # +81 with the trunk 0 kept
        "03-1234-5678",
        "0312345678 ",
        "abc0312345678",
        "sip:0312345678@example.com",
        "1000",
    ],
)
def test_garbage_does_not_match(received: str) -> None:
    assert number_regex().search(received) is None


def test_trailing_newline_cannot_leak_into_the_number() -> None:
    """PCRE's ``$`` (like Python's) also matches before a final newline; the rewrite only
    uses the digits captured in $1, so the number the daemon sees is clean anyway."""
    match = number_regex().search("0312345678\n")
    assert match is not None and match.group(1) == "312345678"


def test_event_socket_is_loopback_with_own_password() -> None:
    root = ET.parse(EVENT_SOCKET).getroot()
    assert root.tag == "configuration" and root.get("name") == "event_socket.conf"
    params = {p.get("name"): p.get("value", "") for p in root.findall("./settings/param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["listen-port"] == "8021"
    assert params["apply-inbound-acl"] == "loopback.auto"
    password = params["password"]
    assert password and password.lower() != "cluecon"
    # A placeholder the install step replaces, not a pre-processor variable: an undefined
    # $${var} expands to "" and mod_event_socket turns an empty password into ClueCon.
    assert password == "@CALLD_ESL_PASSWORD@"


@pytest.mark.parametrize("path", sorted(CONF.rglob("*.xml")), ids=lambda p: p.name)
def test_safe_for_the_freeswitch_preprocessor(path: Path) -> None:
    """FreeSWITCH's line pre-processor acts on X-PRE-PROCESS even inside comments and drops
    every line that contains <include> or </include> (src/switch_xml.c, preprocess())."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert "x-pre-process" not in line.lower(), f"{path.name}:{number}"
        if "<include>" in line or "</include>" in line:
            assert line.strip() in {"<include>", "</include>"}, f"{path.name}:{number}"
        assert "$${" not in line, f"{path.name}:{number}: pre-processor variable"
