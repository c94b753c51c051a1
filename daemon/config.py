"""Settings, read from environment variables prefixed ``CALLD_`` (see README)."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from daemon.billing.invoice import RegistrationNumber


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLD_", extra="ignore")

    database_url: str = Field("", description="PostgreSQL DSN; empty starts an embedded PostgreSQL")
    data_dir: Path = Field(Path("var"), description="embedded PostgreSQL data and generated prompts")
    prompts_dir: Path | None = Field(None, description="guidance WAV files; default <data_dir>/prompts")
    esl_host: str = "127.0.0.1"
    esl_port: int = Field(8084, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    admin_token: SecretStr = Field(SecretStr(""), description="bearer token of the admin API")
    node_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=100)
    log_level: str = "info"
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
    generate_prompts: bool = Field(True, description="generate missing guidance WAVs at start")
    invoice_issuer_name: str = Field("", max_length=200, description="issuer's name on our invoices")
    invoice_issuer_address: str = Field("", max_length=300, description="issuer's address on our invoices")
    invoice_registration_number: RegistrationNumber = Field("", description="qualified-invoice number, T + 13 digits")
    invoice_bank_account: str = Field("", max_length=500, description="bank account for transfers (振込先)")
    invoice_due_days: int = Field(30, ge=0, le=365, description="payment due this many days after issue")
    embedded_pg_port: int = Field(
        5433, ge=0, le=65535, description="embedded PostgreSQL on 127.0.0.1 for FreeSWITCH's CDRs (0: off)"
    )
    counsellor_dial_template: str = Field(
        "sofia/gateway/carrier/{number}",
        pattern=r"^[A-Za-z0-9_./@:+=-]*\{(number|e164)\}[A-Za-z0-9_./@:+=-]*$",
        description="how FreeSWITCH rings a counsellor's phone number: {number} (0312345678) or {e164} (+81312345678)",
    )

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("log_level must be debug, info, warning or error")
        return value

    @field_validator("admin_token", "fs_esl_password")
    @classmethod
    def _not_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() in {"CHANGE_ME", "ClueCon"}:
            raise ValueError("still the placeholder/default secret: set a real one")
        return value

    @property
    def prompts_path(self) -> Path:
        return self.prompts_dir or self.data_dir / "prompts"
