"""Constant data copied from the FreeSWITCH 1.10.12 captures (../shared/freeswitch/transcripts).

Everything here is data, not behaviour: which variables a sofia inbound channel
carries when the ``socket`` app connects (CHANNEL_DATA of play_fs_hangup), which
ones media negotiation, the ACK, a bridge and the end of the call add, and the
``Event-Calling-*`` origin of every event the outbound socket delivers.  The
variable lists are in the order FreeSWITCH sets them: ``switch_channel_set_variable``
deletes a header and appends it again, so the order on the wire is the order of
the last ``set``.
"""

from __future__ import annotations

from typing import Final

#: ``Event-Calling-File`` / ``-Function`` / ``-Line-Number`` per event, as captured.
CALLING: Final[dict[str, tuple[str, str, str]]] = {
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", "2021"),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", "1002"),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", "1213"),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", "2944"),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", "2967"),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", "3487"),
    "CHANNEL_PROGRESS_MEDIA": ("switch_channel.c", "switch_channel_perform_mark_pre_answered", "3560"),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", "3846"),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", "3445"),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", "2408"),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", "943"),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1689"),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1879"),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", "677"),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", "1572"),
}

#: Events that carry no ``variable_*`` headers (CHANNEL_STATE and DTMF in every capture).
NO_VARIABLES: Final = frozenset({"CHANNEL_STATE", "DTMF"})

#: The SDP sipp offered (``variable_switch_r_sdp``) and the answer FreeSWITCH built.
CALLER_SDP: Final = (
    "v=0\r\no=taro 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
)
FAR_END_SDP: Final = (
    "v=0\r\no=counsellor 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6100 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
)
LOCAL_SDP: Final = (
    "v=0\r\no=FreeSWITCH 1795554389 1795554390 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)

#: CHANNEL_DATA variables of an inbound sofia call, in wire order (play_fs_hangup, diversion).
#: ``{...}`` fields are filled per call; ``sip_h_Diversion`` only when the INVITE had one.
INITIAL_VARIABLES: Final[tuple[tuple[str, str], ...]] = (
    ("direction", "inbound"),
    ("uuid", "{uuid}"),
    ("session_id", "{session_id}"),
    ("sip_from_user", "{caller}"),
    ("sip_from_port", "5070"),
    ("sip_from_uri", "{caller}@127.0.0.1:5070"),
    ("sip_from_host", "127.0.0.1"),
    ("video_media_flow", "disabled"),
    ("audio_media_flow", "disabled"),
    ("text_media_flow", "disabled"),
    ("channel_name", "{channel_name}"),
    ("sip_call_id", "{call_id}"),
    ("sip_local_network_addr", "127.0.0.1"),
    ("sip_network_ip", "127.0.0.1"),
    ("sip_network_port", "5070"),
    ("sip_invite_stamp", "{created_us}"),
    ("sip_received_ip", "127.0.0.1"),
    ("sip_received_port", "5070"),
    ("sip_via_protocol", "udp"),
    ("sip_from_user_stripped", "{caller}"),
    ("sip_from_tag", "{from_tag}"),
    ("sofia_profile_name", "external"),
    ("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080"),
    ("recovery_profile_name", "external"),
    ("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{branch}-1-0"),
    ("sip_from_display", "{caller_name}"),
    ("sip_full_from", "{full_from}"),
    ("sip_full_to", "<sip:{destination}@127.0.0.1:5080>"),
    ("sip_req_user", "{destination}"),
    ("sip_req_port", "5080"),
    ("sip_req_uri", "{destination}@127.0.0.1:5080"),
    ("sip_req_host", "127.0.0.1"),
    ("sip_to_user", "{destination}"),
    ("sip_to_port", "5080"),
    ("sip_to_uri", "{destination}@127.0.0.1:5080"),
    ("sip_to_host", "127.0.0.1"),
    ("sip_contact_user", "{caller}"),
    ("sip_contact_port", "5070"),
    ("sip_contact_uri", "{caller}@127.0.0.1:5070"),
    ("sip_contact_host", "127.0.0.1"),
    ("rtp_use_codec_string", "PCMU,PCMA"),
    ("sip_via_host", "127.0.0.1"),
    ("sip_via_port", "5070"),
    ("max_forwards", "70"),
    ("sip_h_Diversion", "{diversion}"),
    ("switch_r_sdp", CALLER_SDP),
    ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
    ("endpoint_disposition", "DELAYED NEGOTIATION"),
    ("DP_MATCH", "ARRAY::{destination}|:{destination}"),
    ("call_uuid", "{uuid}"),
    ("outside_call", "true"),
    ("RFC2822_DATE", "{rfc2822_date}"),
    ("export_vars", "RFC2822_DATE"),
    ("current_application_data", "{socket_data}"),
    ("current_application", "socket"),
    ("socket_host", "{socket_host}"),
)

#: Set by media negotiation, in order, before CHANNEL_PROGRESS_MEDIA (play_fs_hangup t=0.0437).
MEDIA_VARIABLES: Final[tuple[tuple[str, str], ...]] = (
    ("rtp_use_codec_string", "PCMU,PCMA"),
    ("remote_video_media_flow", "inactive"),
    ("remote_text_media_flow", "inactive"),
    ("remote_audio_media_flow", "sendrecv"),
    ("audio_media_flow", "sendrecv"),
    ("rtp_audio_recv_pt", "0"),
    ("rtp_use_codec_name", "PCMU"),
    ("rtp_use_codec_rate", "8000"),
    ("rtp_use_codec_ptime", "20"),
    ("rtp_use_codec_channels", "1"),
    ("rtp_last_audio_codec_string", "PCMU@8000h@20i@1c"),
    ("read_codec", "PCMU"),
    ("original_read_codec", "PCMU"),
    ("read_rate", "8000"),
    ("original_read_rate", "8000"),
    ("write_codec", "PCMU"),
    ("write_rate", "8000"),
    ("dtmf_type", "rfc2833"),
    ("local_media_ip", "127.0.0.1"),
    ("local_media_port", "{media_port}"),
    ("advertised_media_ip", "127.0.0.1"),
    ("rtp_use_timer_name", "soft"),
    ("rtp_use_pt", "0"),
    ("rtp_use_ssrc", "{ssrc}"),
    ("rtp_2833_send_payload", "101"),
    ("rtp_2833_recv_payload", "101"),
    ("remote_media_ip", "127.0.0.1"),
    ("remote_media_port", "6000"),
    ("endpoint_disposition", "EARLY MEDIA"),
)

#: What the caller's ACK to our 200 OK sets (first event after the answer in every capture).
ACK_VARIABLES: Final[tuple[tuple[str, str], ...]] = (
    ("sip_to_tag", "{to_tag}"),
    ("sip_from_tag", "{from_tag}"),
    ("sip_cseq", "1"),
    ("sip_call_id", "{call_id}"),
    ("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{branch}-1-5"),
    ("sip_from_display", "{caller_name}"),
    ("sip_full_from", "{full_from}"),
    ("sip_full_to", "<sip:{destination}@127.0.0.1:5080>;tag={to_tag}"),
)

#: The RTP statistics block of CHANNEL_HANGUP_COMPLETE (zero inbound audio: sipp sent none).
RTP_STATS: Final[tuple[tuple[str, str], ...]] = (
    ("rtp_audio_in_raw_bytes", "0"),
    ("rtp_audio_in_media_bytes", "0"),
    ("rtp_audio_in_packet_count", "0"),
    ("rtp_audio_in_media_packet_count", "0"),
    ("rtp_audio_in_skip_packet_count", "{skip}"),
    ("rtp_audio_in_jitter_packet_count", "0"),
    ("rtp_audio_in_dtmf_packet_count", "0"),
    ("rtp_audio_in_cng_packet_count", "0"),
    ("rtp_audio_in_flush_packet_count", "0"),
    ("rtp_audio_in_largest_jb_size", "0"),
    ("rtp_audio_in_jitter_min_variance", "0.00"),
    ("rtp_audio_in_jitter_max_variance", "0.00"),
    ("rtp_audio_in_jitter_loss_rate", "0.00"),
    ("rtp_audio_in_jitter_burst_rate", "0.00"),
    ("rtp_audio_in_mean_interval", "0.00"),
    ("rtp_audio_in_flaw_total", "0"),
    ("rtp_audio_in_quality_percentage", "100.00"),
    ("rtp_audio_in_mos", "4.50"),
    ("rtp_audio_out_raw_bytes", "{out_bytes}"),
    ("rtp_audio_out_media_bytes", "{out_bytes}"),
    ("rtp_audio_out_packet_count", "{out_packets}"),
    ("rtp_audio_out_media_packet_count", "{out_packets}"),
    ("rtp_audio_out_skip_packet_count", "0"),
    ("rtp_audio_out_dtmf_packet_count", "0"),
    ("rtp_audio_out_cng_packet_count", "0"),
    ("rtp_audio_rtcp_packet_count", "0"),
    ("rtp_audio_rtcp_octet_count", "0"),
)

#: Q.850 values of the cause names an app may use (switch_channel.c CAUSE_CHART).  Causes
#: above 127 (ALLOTTED_TIMEOUT 602, ...) report ``hangup_cause_q850: 16`` (cutoff_in_bridge).
CAUSES: Final[dict[str, int]] = {
    "UNSPECIFIED": 0,
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_TRANSIT_NET": 2,
    "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6,
    "CALL_AWARDED_DELIVERED": 7,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22,
    "REDIRECTION_TO_NEW_DESTINATION": 23,
    "EXCHANGE_ROUTING_ERROR": 25,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "FACILITY_REJECTED": 29,
    "RESPONSE_TO_STATUS_ENQUIRY": 30,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "ACCESS_INFO_DISCARDED": 43,
    "REQUESTED_CHAN_UNAVAIL": 44,
    "PRE_EMPTED": 45,
    "FACILITY_NOT_SUBSCRIBED": 50,
    "OUTGOING_CALL_BARRED": 52,
    "INCOMING_CALL_BARRED": 54,
    "BEARERCAPABILITY_NOTAUTH": 57,
    "BEARERCAPABILITY_NOTAVAIL": 58,
    "SERVICE_UNAVAILABLE": 63,
    "BEARERCAPABILITY_NOTIMPL": 65,
    "CHAN_NOT_IMPLEMENTED": 66,
    "FACILITY_NOT_IMPLEMENTED": 69,
    "SERVICE_NOT_IMPLEMENTED": 79,
    "INVALID_CALL_REFERENCE": 81,
    "INCOMPATIBLE_DESTINATION": 88,
    "INVALID_MSG_UNSPECIFIED": 95,
    "MANDATORY_IE_MISSING": 96,
    "MESSAGE_TYPE_NONEXIST": 97,
    "WRONG_MESSAGE": 98,
    "IE_NONEXIST": 99,
    "INVALID_IE_CONTENTS": 100,
    "WRONG_CALL_STATE": 101,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "MANDATORY_IE_LENGTH_ERROR": 103,
    "PROTOCOL_ERROR": 111,
    "INTERWORKING": 127,
    "SUCCESS": 142,
    "ORIGINATOR_CANCEL": 487,
    "CRASH": 700,
    "SYSTEM_SHUTDOWN": 701,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "BLIND_TRANSFER": 600,
    "ATTENDED_TRANSFER": 601,
    "ALLOTTED_TIMEOUT": 602,
    "USER_CHALLENGE": 603,
    "MEDIA_TIMEOUT": 604,
    "PICKED_OFF": 605,
    "USER_NOT_REGISTERED": 606,
    "PROGRESS_TIMEOUT": 607,
    "INVALID_GATEWAY": 608,
    "GATEWAY_DOWN": 609,
    "INVALID_URL": 610,
    "INVALID_PROFILE": 611,
    "NO_PICKUP": 612,
    "SRTP_READ_ERROR": 613,
    "BOWOUT": 614,
    "BUSY_EVERYWHERE": 615,
    "DECLINE": 616,
    "DOES_NOT_EXIST_ANYWHERE": 617,
    "NOT_ACCEPTABLE": 618,
    "UNWANTED": 619,
    "NO_IDENTITY": 620,
    "BAD_IDENTITY_INFO": 621,
    "UNSUPPORTED_CERTIFICATE": 622,
    "INVALID_IDENTITY": 623,
    "STALE_DATE": 624,
    "REJECT_ALL": 625,
}


def q850(cause: str) -> int:
    """``switch_channel_cause_q850``: the Q.850 number, NORMAL_CLEARING for FreeSWITCH-only causes."""
    value = CAUSES.get(cause, 16)
    return value if value <= 127 else 16


def cause_or_default(name: str | None, default: str = "NORMAL_CLEARING") -> str:
    """``switch_channel_str2cause``: an unknown name silently becomes NORMAL_CLEARING.

    no_daemon_fallback.md: ``hangup TEMPORARY_FAILURE`` hung up with cause 16, because
    TEMPORARY_FAILURE is not a cause name.  Numeric causes are accepted too.
    """
    if not name:
        return default
    upper = name.strip().upper()
    if upper in CAUSES:
        return upper
    if upper.isdigit():
        for key, value in CAUSES.items():
            if value == int(upper):
                return key
    return "NORMAL_CLEARING"


#: ``status`` output captured in api_commands (BACKGROUND_JOB body), with the counters filled in.
STATUS_TEMPLATE: Final = (
    "UP 0 years, 0 days, {hours} hours, {minutes} minutes, {seconds} seconds, {ms} milliseconds, "
    "{us} microseconds\n"
    "FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n"
    "{total} session(s) since startup\n"
    "{current} session(s) - peak {peak}, last 5min {peak} \n"
    "1 session(s) per Sec out of max 30, peak 2, last 5min 2 \n"
    "1000 session(s) max\n"
    "min idle cpu 0.00/97.70\n"
    "Current Stack Size/Max 240K/8192K\n"
)

#: Variables of the far-end leg the bridge originates, in order (inbound_show_channels, its
#: CHANNEL_HANGUP_COMPLETE).  Only inbound listeners see this leg's events.
FAR_END_VARIABLES: Final[tuple[tuple[str, str], ...]] = (
    ("direction", "outbound"),
    ("is_outbound", "true"),
    ("uuid", "{uuid}"),
    ("session_id", "{session_id}"),
    ("sip_profile_name", "external"),
    ("text_media_flow", "disabled"),
    ("channel_name", "{channel_name}"),
    ("sip_destination_url", "sip:{user}@{host}"),
    ("max_forwards", "69"),
    ("originator_codec", "PCMU@8000h@20i"),
    ("originator", "{a_uuid}"),
    ("switch_m_sdp", CALLER_SDP),
    ("export_vars", "RFC2822_DATE"),
    ("RFC2822_DATE", "{rfc2822_date}"),
    ("originate_early_media", "true"),
    ("originating_leg_uuid", "{a_uuid}"),
    ("originate_endpoint", "sofia"),
    ("audio_media_flow", "sendrecv"),
    ("video_media_flow", "inactive"),
    ("rtp_local_sdp_str", "{local_sdp}"),
    ("sip_outgoing_contact_uri", "<sip:mod_sofia@127.0.0.1:5080>"),
    ("sip_req_uri", "{user}@{host}"),
    ("sofia_profile_name", "external"),
    ("recovery_profile_name", "external"),
    ("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080"),
    ("sip_local_network_addr", "127.0.0.1"),
    ("sip_reply_host", "127.0.0.1"),
    ("sip_reply_port", "5090"),
    ("sip_network_ip", "127.0.0.1"),
    ("sip_network_port", "5090"),
    ("sip_recover_contact", "<sip:{user}@{host};transport=UDP>"),
    ("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}"),
    ("sip_recover_via", "SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}"),
    ("sip_from_display", "{caller_name}"),
    ("sip_full_from", '"{caller_name}" <sip:{caller}@127.0.0.1>;tag={from_tag}'),
    ("sip_full_to", "<sip:{user}@{host}>;tag={to_tag}"),
    ("sip_from_user", "{caller}"),
    ("sip_from_uri", "{caller}@127.0.0.1"),
    ("sip_from_host", "127.0.0.1"),
    ("sip_to_user", "{user}"),
    ("sip_to_port", "5090"),
    ("sip_to_uri", "{user}@{host}"),
    ("sip_to_host", "127.0.0.1"),
    ("sip_contact_params", "transport=UDP"),
    ("sip_contact_user", "{user}"),
    ("sip_contact_port", "5090"),
    ("sip_contact_uri", "{user}@{host}"),
    ("sip_contact_host", "127.0.0.1"),
    ("sip_to_tag", "{to_tag}"),
    ("sip_from_tag", "{from_tag}"),
    ("sip_cseq", "{cseq}"),
    ("sip_call_id", "{call_id}"),
    ("switch_r_sdp", FAR_END_SDP),
    ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
    ("rtp_use_codec_string", "PCMU@8000h@20i"),
    *MEDIA_VARIABLES[1:4],
    *MEDIA_VARIABLES[5:-3],
    ("remote_media_ip", "127.0.0.1"),
    ("remote_media_port", "6100"),
    ("endpoint_disposition", "ANSWER"),
)
