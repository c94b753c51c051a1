"""Which of its channel's events the daemon reads, and the ``nixevent`` that drops the rest.

``myevents`` on an outbound socket subscribes to 23 event types of the channel
(mod_event_socket.c, ``parse_command``: ``event_list[...] = 1`` for each, plus the
Unique-ID check of ``LFLAG_MYEVENTS``).  A plain call of answer → guidance →
hang-up then brings 13 events of about 5 KB each (play_fs_hangup), of which the
daemon reads 5.  ``nixevent`` clears single entries of that same list, whatever set
them, and answers ``+OK events nixed``; sent in the set-up write right after
``myevents`` it takes effect before the first ``sendmsg`` is read, so the
unwanted events never reach the socket.  What still comes: about 40 % of the bytes,
and no frame that nobody looks at.

What reads what (a consumer that starts waiting for another event adds it here,
and ``tests/esl/test_subscription.py`` holds the two lists to ``myevents``' own):

* :class:`~daemon.esl.connection.Connection`: CHANNEL_EXECUTE_COMPLETE (every
  ``Session.execute``: answer, playback, play_and_get_digits, record, bridge, the
  hold loop), CHANNEL_HANGUP (``Session.hung_up``, the cut and forwarding outcomes)
  and CHANNEL_HANGUP_COMPLETE (billing variables; ``Session.finish``).
* :class:`~daemon.calls.bridge.Ring` (coaching bridges, IVR forwarding): CHANNEL_BRIDGE
  (the answer and its time) and CHANNEL_UNBRIDGE (the end of talk), besides CHANNEL_HANGUP.

Dropped: keys (DTMF) still reach the applications that collect them through the
channel's own DTMF queue, which an event subscription does not touch.
"""

from __future__ import annotations

#: The events of its own channel the daemon acts on.
WANTED = frozenset(
    {
        "CHANNEL_BRIDGE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_UNBRIDGE",
    }
)

#: The rest of what ``myevents`` subscribes to, unsubscribed in the set-up write.
NIXED: tuple[str, ...] = (
    "CHANNEL_ANSWER",
    "CHANNEL_APPLICATION",
    "CHANNEL_CREATE",
    "CHANNEL_DATA",
    "CHANNEL_DESTROY",
    "CHANNEL_EXECUTE",
    "CHANNEL_ORIGINATE",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_STATE",
    "CHANNEL_UNPARK",
    "CHANNEL_UUID",
    "DETECTED_SPEECH",
    "DTMF",
    "NOTALK",
    "TALK",
)
