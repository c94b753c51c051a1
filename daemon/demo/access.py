"""Ready-to-use access to the demo shop (``CALLD_DEMO=true``, ``make run``).

On the first start the daemon makes an admin token and an operator token of
the demo tenant and keeps them in the data directory (mode 0600); later starts
reuse them (an operator token revoked meanwhile is replaced).  It also makes
two console logins, ``demo-admin`` (platform admin) and ``demo-operator``
(the demo shop's operator), with passwords kept the same way.  All are printed
at start with ready ``curl`` lines, the way Jupyter prints its URL.  An explicit
``CALLD_ADMIN_TOKEN`` always wins and is never printed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from daemon.config import Settings
from daemon.repositories import console_users, tokens
from daemon.secret_files import read_or_create_secret, read_secret, write_secret

ADMIN_TOKEN_FILE = "demo_admin_token"
OPERATOR_TOKEN_FILE = "demo_operator_token"
IVR_TOKEN_FILE = "demo_ivr_operator_token"
OPERATOR_LABEL = "demo (CALLD_DEMO)"


def admin_token(settings: Settings) -> SecretStr:
    """The admin API's token: CALLD_ADMIN_TOKEN if set; in demo mode else the kept one."""
    if settings.admin_token.get_secret_value() or not settings.demo:
        return settings.admin_token
    return SecretStr(read_or_create_secret(settings.data_dir / ADMIN_TOKEN_FILE, "cad_" + secrets.token_urlsafe(32)))


async def operator_token(pool: asyncpg.Pool, data_dir: Path, tenant_id: int, file: str = OPERATOR_TOKEN_FILE) -> str:
    """The demo tenant's operator token kept in the data directory, made (again) when missing or revoked."""
    path = data_dir / file
    kept = read_secret(path)
    if kept is not None and await tokens.tenant_of(pool, kept) == tenant_id:
        return kept
    _token_id, token = await tokens.create(pool, tenant_id, OPERATOR_LABEL)
    write_secret(path, token)
    return token


CONSOLE_LOGINS = (("demo-admin", "admin"), ("demo-operator", "operator"))
IVR_LOGIN = "demo-ivr"  # the IVR demo shop's customer (role ivr): the flow editor


async def console_logins(
    pool: asyncpg.Pool, data_dir: Path, tenant_id: int, logins: tuple[tuple[str, str], ...] = CONSOLE_LOGINS
) -> list[tuple[str, str]]:
    """(login, password) of the demo's console users, made on the first start."""
    made = []
    existing = {u.login for u in await console_users.list_all(pool)}
    for login, role in logins:
        password = read_or_create_secret(data_dir / f"demo_console_{login}", secrets.token_urlsafe(12))
        if login not in existing:
            await console_users.create(pool, login, password, role, None if role == "admin" else tenant_id)
        made.append((login, password))
    return made


@dataclass(frozen=True)
class DemoAccess:
    url: str
    admin_token: str | None  # None: the operator's own CALLD_ADMIN_TOKEN (not shown)
    operator_token: str
    data_dir: Path
    console: tuple[tuple[str, str], ...] = ()  # (login, password)

    def curl_lines(self) -> list[str]:
        admin = self.admin_token or "$CALLD_ADMIN_TOKEN"
        return [
            f"curl -H 'Authorization: Bearer {admin}' {self.url}/api/v1/tenants",
            f"curl -H 'Authorization: Bearer {self.operator_token}' {self.url}/api/v1/operator/callers",
        ]

    def banner(self) -> str:
        admin = (
            f"{self.admin_token}   (kept in {self.data_dir / ADMIN_TOKEN_FILE})"
            if self.admin_token
            else "from CALLD_ADMIN_TOKEN"
        )
        operator_file = self.data_dir / OPERATOR_TOKEN_FILE
        lines = [
            "",
            "    calld demo shop is ready: Coaching Dial on 0312345678",
            f"    status:          {self.url}/status",
            f"    admin token:     {admin}",
            f"    operator token:  {self.operator_token}   (tenant demo, kept in {operator_file})",
            f"    web console:     {self.url}/console/",
            *(f"        login {login}  password {password}" for login, password in self.console),
            "    try:",
            *(f"        {line}" for line in self.curl_lines()),
            "",
        ]
        return "\n".join(lines)


def base_url(host: str, port: int) -> str:
    """Where a local curl reaches the HTTP listener."""
    if host in {"", "0.0.0.0", "::"}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
