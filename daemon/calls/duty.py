"""The counsellors' duty line: go on or off duty by phone.

A number of product ``duty`` belongs to a Coaching Dial tenant.  A counsellor
calls it from the phone their operator registered for them:

caller ID → the tenant's counsellor with that phone number and a PIN set
    none (or withheld) → "not registered here" as early media, CALL_REJECTED (603);
    never answered, as every refusal of ours
→ answer → "key your PIN" (``play_and_get_digits``); two tries, each one an attempt
  on the login throttle (:mod:`daemon.rules.login_backoff`), so a PIN cannot be
  guessed call after call
→ the current state as the lead-in of the menu "1: on duty, 2: off duty"
  (keys typed ahead are kept, :mod:`daemon.calls.keypad`)
→ the duty switched (:func:`daemon.services.counsellor_self.duty_by_phone`, audited),
  the new state said, hang up.
A failing database refuses the call unanswered (``unavailable``, 503) before the answer,
and says ``unavailable`` after it: never silence.

Only ``pre_answer``, ``playback``, ``answer``, ``play_and_get_digits`` and
``hangup``: applications the FreeSWITCH transcripts show.
"""

from __future__ import annotations

from daemon.calls import guidance
from daemon.calls.context import CallContext
from daemon.calls.keypad import read_choice, read_digits
from daemon.logs import get_logger
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import duty_pins, login_throttle
from daemon.repositories.duty_pins import DutyPhone
from daemon.repositories.login_throttle import Key
from daemon.rules.login_backoff import BY_LOGIN, login_key
from daemon.services import counsellor_self

_log = get_logger(__name__)

PIN_TRIES = 2
UNKNOWN = "duty_unknown_phone"
UNKNOWN_CAUSE = "CALL_REJECTED"  # 603 Decline: this phone may not use the duty line


def throttle_key(tenant_id: int, counsellor_id: int) -> Key:
    """The PIN's attempts are counted per counsellor, whoever calls (the caller ID can be forged)."""
    return Key(f"duty-line:{tenant_id}", login_key(f"counsellor:{counsellor_id}"), BY_LOGIN)


class DutyLine:
    """The product flow given to :class:`~daemon.calls.entry.CallEntry` for ``duty`` numbers."""

    async def __call__(self, call: CallContext) -> None:
        number = call.caller_number
        try:
            phone = await duty_pins.by_phone(call.pool, call.tenant_id, number) if number is not None else None
        except DB_ERRORS as exc:  # not answered yet: refused as every call is when the database fails
            self.trouble(call, exc)
            return await guidance.refuse(call.session, call.prompts, "unavailable")
        if phone is None or phone.pin_hash is None:
            call.metrics.calls_rejected.labels("duty_unknown_phone").inc()
            _log.info("duty_line_refused", reason="unknown_phone")
            await guidance.refuse(call.session, call.prompts, UNKNOWN, UNKNOWN_CAUSE)
            return
        await call.session.execute("answer")
        try:
            await self.switch(call, phone)
        except DB_ERRORS as exc:  # the counsellor hears why, rather than silence and a hang-up
            self.trouble(call, exc)
            await self.goodbye(call, ["unavailable"])

    @staticmethod
    def trouble(call: CallContext, exc: BaseException) -> None:
        call.metrics.db_errors.inc()
        _log.error("duty_line_db_error", error=repr(exc))

    async def switch(self, call: CallContext, phone: DutyPhone) -> None:
        """The PIN, the state and the menu, the switch: the answered part of the call."""
        if not await self.pin_matches(call, phone):
            _log.info("duty_line_refused", reason="wrong_pin", counsellor_id=phone.counsellor_id)
            return await self.goodbye(call, ["invalid_pin", "goodbye"])
        state = "duty_state_on" if phone.on_duty else "duty_state_off"
        choice = await read_choice(call.session, call.prompts, "duty_menu", "12", lead_in=[state], var="duty_choice")
        if choice is None:
            return await self.goodbye(call, ["goodbye"])
        on_duty = choice == "1"
        await counsellor_self.duty_by_phone(call.pool, call.tenant_id, phone.counsellor_id, on_duty)
        _log.info("duty_line_switched", counsellor_id=phone.counsellor_id, on_duty=on_duty)
        await self.goodbye(call, ["duty_now_on" if on_duty else "duty_now_off"])

    async def pin_matches(self, call: CallContext, phone: DutyPhone) -> bool:
        key = throttle_key(call.tenant_id, phone.counsellor_id)
        for attempt in range(PIN_TRIES):
            pin = await read_digits(
                call.session,
                call.prompts,
                "duty_enter_pin",
                var="duty_pin",
                min_digits=4,
                max_digits=8,
                lead_in=[] if attempt == 0 else ["invalid_pin"],
            )
            if pin is None:
                continue
            if not (await login_throttle.attempt(call.pool, [key])).allowed:
                return False  # guessed too often: every PIN is wrong for a while
            if await duty_pins.verify(phone, pin):
                await login_throttle.succeeded(call.pool, key.address, key.login_sha256)
                return True
        return False

    @staticmethod
    async def goodbye(call: CallContext, prompts: list[str]) -> None:
        await guidance.play(call.session, call.prompts, prompts)
        await call.session.hangup("NORMAL_CLEARING")
