"""Voicemail notifications, the customer's side: where they go, and how each delivery went.

A tenant names up to ten e-mail addresses and one webhook URL.  The webhook's
secret (HMAC-SHA256 key of the ``X-Calld-Signature`` header) is made here when a
URL is first set and kept when the URL changes, unless the customer asks for a
new one; it is shown to the customer, who needs it to check the signature.
The sending itself is :mod:`daemon.services.notification_courier`'s.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import asyncpg

from daemon.repositories import notifications as db
from daemon.repositories.notifications import Delivery, NotifySettings
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Invalid, Problem

MAX_EMAILS = 10
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f\"<>,;]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)


def new_secret() -> str:
    return secrets.token_hex(32)


def email_address(value: str) -> str | None:
    """The address as kept (lower-case domain… and local part: mail systems we meet treat it so), or None."""
    text = value.strip()
    return text.lower() if len(text) <= 254 and _EMAIL.match(text) else None


def addresses(values: list[str], field: str, most: int) -> list[str]:
    """E-mail addresses as typed → as kept (lower case, each once); :class:`Invalid` at ``field`` otherwise."""
    kept: list[str] = []
    problems: list[Problem] = []
    for value in values:
        address = email_address(value)
        if address is None:
            problems.append(Problem((field,), f"not an e-mail address: {value!r}"))
        elif address not in kept:
            kept.append(address)
    if len(kept) > most:
        problems.append(Problem((field,), f"at most {most} addresses", "too_long"))
    if problems:
        raise Invalid(problems)
    return kept


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the webhook URL must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "the webhook URL must not carry a user or password"
    if any(ch.isspace() or ord(ch) < 32 for ch in url) or len(url) > 2000:
        return "the webhook URL must have no spaces or control characters and at most 2000 characters"
    return None


async def current(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> NotifySettings:
    """What is set (nothing yet: no addresses, no webhook)."""
    found = await db.settings(pool, actor.scope(tenant_id))
    return found or NotifySettings([], None, "")


async def save(
    pool: asyncpg.Pool,
    actor: Actor,
    tenant_id: int,
    emails: list[str],
    webhook_url: str | None,
    *,
    renew_secret: bool = False,
) -> NotifySettings:
    """Set where new messages are told; checked, written and audited in one transaction."""
    tenant_id = actor.scope(tenant_id)
    problems: list[Problem] = []
    kept: list[str] = []
    try:
        kept = addresses(emails, "emails", MAX_EMAILS)
    except Invalid as exc:
        problems += exc.problems
    url = (webhook_url or "").strip() or None
    wrong = None if url is None else _url_problem(url)
    if wrong:
        problems.append(Problem(("webhook_url",), wrong))
    if problems:
        raise Invalid(problems)
    async with change(pool, actor) as c:
        old = await db.settings(c.pool, tenant_id)
        secret = old.webhook_secret if old and old.webhook_secret and not renew_secret else new_secret()
        saved = await db.save(c.pool, tenant_id, NotifySettings(kept, url, secret))
        await c.record(
            "ivr.notify.save",
            tenant_id=tenant_id,
            target="voicemail notifications",
            before={"emails": old.emails, "webhook_url": old.webhook_url} if old else None,
            after={"emails": kept, "webhook_url": url, "secret_renewed": renew_secret},
        )
    return saved


async def log(pool: asyncpg.Pool, actor: Actor, tenant_id: int, *, limit: int = 50) -> list[Delivery]:
    """The tenant's deliveries, newest first."""
    return await db.log(pool, actor.scope(tenant_id), limit=limit)
