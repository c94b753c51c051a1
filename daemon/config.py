"""Settings, read from environment variables prefixed ``CALLD_`` (see README)."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from daemon.rules.billing.invoice import RegistrationNumber

ENV_PREFIX = "CALLD_"
MIN_ADMIN_TOKEN = 16
SECRETS = frozenset({"admin_token", "metrics_token", "fs_esl_password", "smtp_password"})  # never echoed in an error
#: A dial template: dial-string characters around one ``{number}`` or ``{e164}``.
DIAL_TEMPLATE = r"^[A-Za-z0-9_./@:+=-]*\{(number|e164)\}[A-Za-z0-9_./@:+=-]*$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field("", description="PostgreSQL DSN; empty starts an embedded PostgreSQL")
    data_dir: Path = Field(Path("var"), description="embedded PostgreSQL data and generated prompts")
    prompts_dir: Path | None = Field(None, description="guidance WAV files; default <data_dir>/prompts")
    esl_host: str = "127.0.0.1"
    esl_port: int = Field(8084, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    admin_token: SecretStr = Field(SecretStr(""), description="bearer token of the admin API")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="bearer token of GET /metrics (a Prometheus scrape); the admin token also works"
    )
    node_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=100)
    log_level: str = "info"
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="uvloop (the standard loop where it is not installed) or asyncio (daemon.event_loop)"
    )
    demo: bool = Field(False, description="create a demo tenant on 0312345678 at start")
    linger_seconds: int = Field(10, ge=1, le=60, description="how long FreeSWITCH keeps the socket after hangup")
    hangup_complete_timeout: float = Field(
        5.0, gt=0, description="seconds to wait for CHANNEL_HANGUP_COMPLETE before closing"
    )
    drain_seconds: float = Field(45.0, ge=0, description="on stop, how long live calls may finish")
    heartbeat_seconds: float = Field(5.0, gt=0)
    node_timeout_seconds: float = Field(30.0, gt=0, description="a silent node's lines are freed after this")
    db_pool_size: int = Field(10, ge=1, le=200)
    db_timeout_seconds: float = Field(2.0, gt=0, description="admission fails closed after this")
    fs_esl_host: str = Field("127.0.0.1", description="FreeSWITCH inbound event socket, for crash recovery")
    fs_esl_port: int = Field(8021, ge=1, le=65535)
    fs_esl_password: SecretStr = Field(SecretStr(""), description="event_socket.conf.xml password")
    cdr_spool_dir: Path | None = Field(
        None,
        description="mod_cdr_pg_csv's spool-dir on this host: CDRs FreeSWITCH could not insert are put back from there",
    )
    generate_prompts: bool = Field(True, description="generate missing guidance WAVs at start")
    invoice_issuer_name: str = Field("", max_length=200, description="issuer's name on our invoices")
    invoice_issuer_address: str = Field("", max_length=300, description="issuer's address on our invoices")
    invoice_registration_number: RegistrationNumber = Field("", description="qualified-invoice number, T + 13 digits")
    invoice_bank_account: str = Field("", max_length=500, description="bank account for transfers (振込先)")
    invoice_due_days: int = Field(30, ge=0, le=365, description="payment due this many days after issue")
    embedded_pg_port: int = Field(
        5433, ge=0, le=65535, description="embedded PostgreSQL on 127.0.0.1 for FreeSWITCH's CDRs (0: off)"
    )
    console_secure_cookies: bool = Field(
        True, description="the console's session cookie only over HTTPS (and http://127.0.0.1, http://localhost)"
    )
    trusted_proxies: str = Field(
        "",
        description="reverse proxies (comma-separated addresses or networks) whose X-Forwarded-For names the client",
    )
    counsellor_dial_template: str = Field(
        "sofia/gateway/carrier/{number}",
        pattern=DIAL_TEMPLATE,
        description="how FreeSWITCH rings a counsellor's phone number: {number} (0312345678) or {e164} (+81312345678)",
    )
    forward_dial_template: str = Field(
        "sofia/gateway/carrier/{number}",
        pattern=DIAL_TEMPLATE,
        description="how FreeSWITCH rings a number the IVR forwards to: {number} (09012345678) or {e164}",
    )

    smtp_host: str = Field("", max_length=253, description="SMTP server for outgoing mail; empty: no mail is sent")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (implicit, port 465) or none (a local relay)"
    )
    smtp_username: str = Field("", max_length=320)
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password (with smtp_username)")
    smtp_timeout_seconds: float = Field(30.0, gt=0, le=600)
    mail_from: str = Field("", max_length=320, description="From: of our mail, e.g. 'calld <noreply@example.jp>'")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be debug, info, warning or error")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @field_validator("admin_token", "metrics_token", "fs_esl_password")
    @classmethod
    def _not_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() in {"CHANGE_ME", "ClueCon"}:
            raise ValueError(f"is still the placeholder {value.get_secret_value()}: set a secret of your own")
        return value

    @field_validator("admin_token", "metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        length = len(value.get_secret_value())
        if 0 < length < MIN_ADMIN_TOKEN:
            raise ValueError(
                f"has {length} characters; use at least {MIN_ADMIN_TOKEN}"
                " (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(24))'), or leave it empty"
                " to keep it closed"
            )
        return value

    @property
    def prompts_path(self) -> Path:
        return self.prompts_dir or self.data_dir / "prompts"

    @property
    def settlement_path(self) -> Path:
        """This node's journal of call ends the database has not taken yet (daemon.settlement)."""
        return self.data_dir / "settlement" / f"{self.node_id}.jsonl"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; ValueError naming the entry that is not one."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"has {entry!r}, which is not an address or network (e.g. 127.0.0.1 or 10.0.0.0/8)"
                ) from None
    return tuple(networks)


class ConfigurationError(Exception):
    """The environment holds settings that cannot be used; ``problems`` has one sentence per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_settings() -> Settings:
    """Settings from the ``CALLD_*`` environment, or :class:`ConfigurationError` that a person can read."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError([describe(error) for error in exc.errors(include_url=False)]) from None


# What a broken value must be, by pydantic's error type (the rest: pydantic's own words).
_MUST_BE = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
}


def describe(error: ErrorDetails) -> str:
    """One line naming the variable and what is wrong: ``CALLD_HTTP_PORT must be a whole number (got 'abc')``."""
    field = str(error["loc"][0]) if error["loc"] else ""
    variable = ENV_PREFIX + field.upper() if field else "the configuration"
    message = _MUST_BE.get(error["type"]) or error["msg"].removeprefix("Value error, ")
    message = re.sub(r"^(?:Input|String|Value|List) should ", "must ", message)
    if not message.startswith(("must ", "is ", "has ")):
        message = f"is invalid: {message}"
    given: Any = error.get("input")
    if field in SECRETS or not isinstance(given, str):
        return f"{variable} {message}"
    return f"{variable} {message} (got {given!r})"


# CALLD_* variables that are read by something other than the daemon's settings.
NOT_SETTINGS = frozenset({"CALLD_OPERATOR_TOKEN"})  # python -m emulator call


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A sentence for each ``CALLD_*`` variable that no setting reads (a typo is otherwise silently ignored)."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    found = []
    for name in sorted(os.environ if environ is None else environ):
        if not name.startswith(ENV_PREFIX) or name in known or name in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        found.append(f"{name} is not a setting" + (f" (did you mean {close[0]}?)" if close else "") + "; ignored")
    return found
