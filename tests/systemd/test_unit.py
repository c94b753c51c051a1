"""The systemd unit and the environment file example we ship."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from daemon.config import Settings

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD / "calld.service"
ENV_EXAMPLE = SYSTEMD / "calld.env.example"

# The settings the daemon reads (daemon/config.py) that belong in an operator's env file.
KNOWN = {
    "CALLD_DATABASE_URL",
    "CALLD_EMBEDDED_PG_PORT",
    "CALLD_DATA_DIR",
    "CALLD_ESL_HOST",
    "CALLD_ESL_PORT",
    "CALLD_HTTP_HOST",
    "CALLD_HTTP_PORT",
    "CALLD_ADMIN_TOKEN",
    "CALLD_NODE_ID",
    "CALLD_LOG_LEVEL",
    "CALLD_PROMPTS_DIR",
    "CALLD_DEMO",
    # The daemon's inbound connection to FreeSWITCH (crash reconciliation).
    "CALLD_FS_ESL_HOST",
    "CALLD_FS_ESL_PORT",
    "CALLD_FS_ESL_PASSWORD",
    # Coaching Dial: the carrier gateway counsellors' phones are rung through.
    "CALLD_COUNSELLOR_DIAL_TEMPLATE",
    # IVR: the carrier gateway forwarded calls are rung through.
    "CALLD_FORWARD_DIAL_TEMPLATE",
    # The console over TLS behind a reverse proxy on the host (proxy/README.md).
    "CALLD_TRUSTED_PROXIES",
    "CALLD_CONSOLE_SECURE_COOKIES",
}
# Documented for the inbound reconciliation connection, not yet fields of Settings.
NOT_YET_IN_SETTINGS = {"CALLD_FS_ESL_HOST", "CALLD_FS_ESL_PORT", "CALLD_FS_ESL_PASSWORD"}

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "SystemCallFilter": "@system-service",
}


def load_unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNIT, encoding="utf-8")
    return parser


def env_example_names() -> list[str]:
    """Every CALLD_ variable the example sets or shows commented out."""
    names = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?(CALLD_[A-Z0-9_]+)=", line)  # "#   CALLD_X=..." is an example
        if match:
            names.append(match.group(1))
    return names


def test_service_basics() -> None:
    service = load_unit()["Service"]
    assert service["Type"] == "notify"  # READY=1 from daemon.watchdog, after the event socket listens
    assert service["NotifyAccess"] == "main" and int(service["WatchdogSec"]) > 0
    assert service["ExecStart"] == "/opt/calld/.venv/bin/python -m daemon run"
    assert service["WorkingDirectory"] == "/opt/calld"
    assert service["EnvironmentFile"] == "/etc/calld/calld.env"
    assert service["Restart"] == "on-failure"
    assert service["RestartSec"] == "2"
    assert service["User"] == "calld"
    assert service["StateDirectory"] == "calld"
    assert service["ReadWritePaths"] == "/var/lib/calld"
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) > 0
    assert load_unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(("key", "value"), sorted(HARDENING.items()))
def test_hardening(key: str, value: str) -> None:
    assert load_unit()["Service"].get(key) == value


def test_network_families_and_no_capabilities() -> None:
    service = load_unit()["Service"]
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert service["CapabilityBoundingSet"] == ""


def test_unit_environment_names_are_known() -> None:
    # configparser keeps only the last of repeated keys: read the Environment= lines directly.
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    assignments = [line.split("=", 1)[1] for line in lines if line.startswith("Environment=")]
    names = {assignment.split("=", 1)[0] for assignment in assignments}
    assert {"CALLD_DATA_DIR", "CALLD_DEMO"} <= names
    assert {name for name in names if name.startswith("CALLD_")} <= KNOWN
    assert "CALLD_DEMO=false" in assignments, "no demo tenant on a production node"


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    names = env_example_names()
    assert len(names) == len(set(names)), "each variable once"
    assert set(names) <= KNOWN, set(names) - KNOWN
    assert set(names) == KNOWN, KNOWN - set(names)


def test_env_example_names_match_the_settings_class() -> None:
    """Catches a rename in daemon/config.py that the example did not follow."""
    fields = {f"CALLD_{name.upper()}" for name in Settings.model_fields}
    for name in env_example_names():
        assert name in fields or name in NOT_YET_IN_SETTINGS, name


def test_env_example_holds_no_real_secret() -> None:
    values = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines() if line.startswith("CALLD_")
    )
    assert values["CALLD_ADMIN_TOKEN"] == "CHANGE_ME"
    assert values["CALLD_FS_ESL_PASSWORD"] == "CHANGE_ME"
