"""Inviting a customer's console user with a one-time link, and the link setting the password.

The platform's staff invite (audited: who, for which tenant; never the token).
The invitee redeems the link once, before it expires; the password is checked by
the console users' own rules and the redemption is audited as the invitee.

An invitee with an e-mail address is sent the link (:func:`mail_link`, through the
one SMTP sender) once the invitation is committed.  The link is valid whether or not
the mail leaves: a failure is returned in words for the staff, who still see the
link to pass on by hand, never raised as if the invitation had failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.config import Settings
from daemon.mail import sending
from daemon.repositories import console_users, invites
from daemon.services.actor import Actor
from daemon.services.change import Change, change
from daemon.services.errors import RULE, Invalid, NotFound, Problem, coded
from daemon.services.tenant_models import InviteIn, role_of
from daemon.services.values import TOKYO

# The console's page that redeems a link; the token follows.
PATH = "/console/invite/"


@dataclass(frozen=True, slots=True)
class Invitation:
    user_id: int
    login: str
    token: str  # shown once: only its hash is stored
    expires_at: datetime
    tenant_id: int | None = None
    display_name: str = ""
    email: str = ""  # where the link is mailed; empty: nowhere

    @property
    def path(self) -> str:
        return PATH + self.token


async def invite_in(c: Change, tenant_id: int, body: InviteIn) -> Invitation:
    """Within an open change: a new user of ``tenant_id`` and their link (the caller records the change)."""
    try:
        with coded("login_taken"):
            user_id = await invites.new_user(
                c.conn, body.login, role_of(body.role), tenant_id, body.display_name, body.email
            )
    except console_users.Refused as exc:
        raise Invalid([Problem(("login",), str(exc), RULE)]) from None
    token, expires = await invites.create(c.conn, user_id)
    return Invitation(user_id, body.login, token, expires, tenant_id, body.display_name, body.email)


async def invite(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: InviteIn) -> Invitation:
    actor.require_platform()
    async with change(pool, actor) as c:
        invitation = await invite_in(c, tenant_id, body)
        await c.record(
            "console_user.invite",
            tenant_id=tenant_id,
            target=f"console user {invitation.user_id}",
            after={
                "login": body.login,
                "role": role_of(body.role),
                "expires_at": invitation.expires_at.isoformat(),
                "email": body.email,
            },
        )
    return invitation


async def reinvite(pool: asyncpg.Pool, actor: Actor, user_id: int) -> Invitation:
    """A new link for a user (the earlier ones stop working), e.g. when the first one expired."""
    actor.require_platform()
    async with change(pool, actor) as c:
        user = await console_users.get(c.pool, user_id)
        email = await invites.address(c.conn, user.id)
        token, expires = await invites.create(c.conn, user.id)
        await c.record(
            "console_user.invite",
            tenant_id=user.tenant_id,
            target=f"console user {user.id}",
            after={"login": user.login, "role": user.role, "expires_at": expires.isoformat()},
        )
    return Invitation(user.id, user.login, token, expires, user.tenant_id, user.display_name, email)


@dataclass(frozen=True, slots=True)
class Mailing:
    """The link's e-mail: sent to ``to``, or not sent when ``failure`` (the reason, one English sentence)."""

    to: str
    failure: str = ""


def mail_text(invitation: Invitation, url: str) -> str:
    """The invitation in Japanese: whom it is for, the link, until when it works."""
    until = invitation.expires_at.astimezone(TOKYO)
    return (
        f"{invitation.display_name or invitation.login} 様\n\n"
        f"コンソールのアカウント（ログインID: {invitation.login}）をご用意しました。\n"
        "下記のリンクを開き、パスワードを設定してからログインしてください。\n\n"
        f"{url}\n\n"
        f"このリンクは1回限り、{until.year}年{until.month}月{until.day}日 {until:%H:%M}まで有効です。\n"
        "期限が切れたときは、担当者に新しいリンクの発行をご依頼ください。\n"
        "お心当たりのない場合は、このメールを破棄してください。\n"
    )


async def mail_link(
    pool: asyncpg.Pool, actor: Actor, settings: Settings, invitation: Invitation, url: str
) -> Mailing | None:
    """E-mail ``url`` (the invitation's link, as the front door serves it) to the invitee; None: no address.

    Called once the invitation is committed, so no mail ever carries a link that was rolled back.
    A mail the server accepted is audited (to whom, never the link).
    """
    if not invitation.email:
        return None
    subject = "コンソールへのご招待（パスワードの設定）"
    message = sending.new_message(settings, to=invitation.email, subject=subject, text=mail_text(invitation, url))
    try:
        await sending.send(settings, message)
    except sending.MailNotSent as exc:
        return Mailing(invitation.email, exc.reason)
    async with change(pool, actor) as c:
        await c.record(
            "console_user.invite_mail",
            tenant_id=invitation.tenant_id,
            target=f"console user {invitation.user_id}",
            after={"sent_to": invitation.email},
        )
    return Mailing(invitation.email)


class LinkUnusable(NotFound):
    """Unknown, used or expired: the same answer for all three."""

    code = "invite_unusable"


async def redeem(pool: asyncpg.Pool, token: str, password: str, remote: str = "") -> invites.Invitee:
    """Set the password through the link, once; the user can log in with it from now on."""
    try:
        hashed = await console_users.hash_password(password)
    except console_users.Refused as exc:
        raise Invalid([Problem(("password",), str(exc), RULE)]) from None
    async with pool.acquire() as conn:
        found = await invites.valid(conn, token)
    if found is None:
        raise LinkUnusable("this link is unknown, used or expired")
    actor = Actor.console(found.user_id, found.login, found.tenant_id, remote)
    async with change(pool, actor) as c:
        used = await invites.redeem(c.conn, token, hashed)
        if used is None:  # used by another request in the meantime
            raise LinkUnusable("this link is unknown, used or expired")
        await c.record("console_user.invite_redeemed", tenant_id=used.tenant_id, target=f"console user {used.user_id}")
    return used
