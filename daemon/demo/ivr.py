"""The IVR demo shop of ``make run``: a second tenant on its own number, with a published flow.

Tenant "demo-ivr" (1 line, the forwarding add-on on) answers 0312340000::

    menu       「お電話ありがとうございます…1を、伝言は2を…」
      1 → info       a typed guidance (business hours), then
          forward    the shop owner's mobile 08022223333, 20 s; busy / no answer → voicemail
      2 → voicemail  「発信音のあとに…」, a beep, up to 60 s
      none → bye

Its three guidance items are typed words, synthesised and loudness-tuned by the
same pipeline as a customer's (:func:`daemon.services.guidance.speak`), so the
first start takes some seconds more.  Every step is "ensure": the tenant is
found by an existence check under an advisory lock; a guidance item by its name;
the flow is published only while nothing is live.  A start that failed half-way
(the audio child, a full disk) finishes the rest on the next start, and a flow
the customer has changed in the console is left alone.  The changes are made
and audited as ``system:demo``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from daemon.audio.errors import AudioRejected
from daemon.audio.isolate import ChildFailed
from daemon.audio.store import GuidanceStore
from daemon.config import Settings
from daemon.demo import access
from daemon.demo.seed import DemoConflict
from daemon.logs import get_logger
from daemon.postgres.one_connection import one_connection
from daemon.repositories import guidance as guidance_db
from daemon.repositories import ivr_flows, tenants
from daemon.rules.ivr.models import Flow
from daemon.services import guidance
from daemon.services import ivr_flows as versions
from daemon.services.actor import Actor
from daemon.services.errors import ServiceError
from daemon.services.guidance_models import SpeechIn

_log = get_logger(__name__)

NAME = "demo-ivr"
NUMBER = "0312340000"
OWNER_MOBILE = "08022223333"
_LOCK = "calld-demo-ivr"
ACTOR = Actor.system("demo")

WORDS = {
    "ご案内": "お電話ありがとうございます。カルド歯科クリニックです。"
    "診療時間のご案内と、受付へのおつなぎは1を、伝言を残されるかたは2を押してください。",
    "診療時間": "診療時間は、平日の午前9時から午後6時までです。ただいま受付におつなぎします。",
    "伝言": "ただいま電話に出ることができません。発信音のあとに、お名前とご用件をお話しください。",
}


def flow(ids: dict[str, int]) -> Flow:
    """The demo's flow, given the ids of its guidance items by name."""
    return Flow.model_validate(
        {
            "entry": {"default": "menu"},
            "nodes": {
                "menu": {
                    "kind": "menu",
                    "prompt": ids["ご案内"],
                    "options": {"1": "info", "2": "voicemail"},
                    "fallback": "bye",
                },
                "info": {"kind": "play", "guidance": [ids["診療時間"]], "next": "forward"},
                "forward": {"kind": "forward", "numbers": [OWNER_MOBILE], "ring_timeout_s": 20, "on_fail": "voicemail"},
                "voicemail": {"kind": "voicemail", "prompt": ids["伝言"], "max_seconds": 60},
                "bye": {"kind": "hangup"},
            },
        }
    )


async def _tenant(pool: asyncpg.Pool) -> int:
    """The demo IVR tenant's id: found, or made with its number and the forwarding add-on in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)
        existing: int | None = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", NAME)
        if existing is not None:
            return existing
        owner = await conn.fetchval(
            "SELECT t.name FROM numbers n JOIN tenants t ON t.id = n.tenant_id WHERE n.number = $1", NUMBER
        )
        if owner is not None:
            raise DemoConflict(
                f"the IVR demo number {NUMBER} already belongs to tenant {owner!r}: "
                "set CALLD_DEMO=false, or remove that number first"
            )
        tenant_id = await tenants.create_tenant(one_connection(conn), NAME, 1)
        await tenants.add_number(one_connection(conn), tenant_id, NUMBER, "ivr")
        await conn.execute("UPDATE line_contracts SET forwarding = true WHERE tenant_id = $1", tenant_id)
        return tenant_id


async def _guidance(pool: asyncpg.Pool, store: GuidanceStore, tenant_id: int) -> dict[str, int]:
    """The ids of the demo's typed guidance by name, synthesising the missing ones."""
    have = {g.name: g.id for g in await guidance_db.all_of(pool, tenant_id)}
    for name, text in WORDS.items():
        if name not in have:
            made = await guidance.speak(pool, ACTOR, store, tenant_id, SpeechIn(name=name, text=text))
            have[name] = made.id
    return have


async def ensure_ivr_demo(pool: asyncpg.Pool, store: GuidanceStore) -> int:
    """The IVR demo tenant's id, with its guidance and a published flow."""
    tenant_id = await _tenant(pool)
    ids = await _guidance(pool, store, tenant_id)
    if await ivr_flows.live(pool, tenant_id) is None:
        saved = await versions.save(pool, ACTOR, tenant_id, flow(ids), publish=True)
        _log.info("demo_ivr_published", tenant_id=tenant_id, version=saved.version)
    return tenant_id


@dataclass(frozen=True)
class IvrDemo:
    """What the banner prints of the IVR demo shop."""

    number: str
    login: str
    password: str
    operator_token: str

    def banner(self, url: str, data_dir: Path) -> str:
        return "\n".join(
            [
                "",
                f"    IVR demo shop (じゃんじゃんコール) on {self.number}: menu → typed guidance → forward / voicemail",
                f"    flow editor:     {url}/console/ivr/flows",
                f"        login {self.login}  password {self.password}",
                f"    operator token:  {self.operator_token}"
                f"   (tenant {NAME}, kept in {data_dir / access.IVR_TOKEN_FILE})",
                "    try (key 1: the typed guidance, then forwarded; key 2: voicemail):",
                f"        python -m emulator call {self.number} --from 09012345678 --keys 1 --talk 5"
                f" --operator-token {self.operator_token}",
                "",
            ]
        )


async def announce(pool: asyncpg.Pool, settings: Settings, url: str) -> None:
    """Make the IVR demo shop ready and print its banner: a background task once the database is up.

    It runs after the Coaching Dial banner, not before readiness: the first
    synthesis takes some seconds, and nothing else waits for it.
    """
    shop = await ivr_access(pool, settings)
    if shop is not None:
        _log.warning("demo_ivr_ready", url=url, number=shop.number, login=shop.login)
        print(shop.banner(url, settings.data_dir), file=sys.stdout, flush=True)


async def ivr_access(pool: asyncpg.Pool, settings: Settings) -> IvrDemo | None:
    """The IVR demo shop made ready, and what the banner prints of it; None (logged) if it could not be.

    The Coaching Dial demo does not depend on it: a machine without the speech
    synthesis still runs ``make run``, and says why the IVR shop is missing.
    """
    try:
        tenant_id = await ensure_ivr_demo(pool, guidance.store(settings))
        token = await access.operator_token(pool, settings.data_dir, tenant_id, access.IVR_TOKEN_FILE)
        [(login, password)] = await access.console_logins(
            pool, settings.data_dir, tenant_id, ((access.IVR_LOGIN, "ivr"),)
        )
    except (AudioRejected, ChildFailed, ServiceError, tenants.Conflict, OSError) as exc:
        _log.warning("demo_ivr_unavailable", error=str(exc))
        return None
    return IvrDemo(NUMBER, login, password, token)
