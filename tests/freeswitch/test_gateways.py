"""The carrier gateways we ship as examples: what mod_sofia needs, and the name the daemon dials through."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from daemon.config import Settings

EXTERNAL = Path(__file__).resolve().parents[2] / "freeswitch" / "conf" / "sip_profiles" / "external"
REGISTER = EXTERNAL / "carrier-register.xml"
IP_AUTH = EXTERNAL / "carrier-ip.xml"


def params(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    assert root.tag == "include"
    (gateway,) = root.findall("gateway")
    assert gateway.get("name") == "carrier"
    return {p.get("name", ""): p.get("value", "") for p in gateway.findall("param")}


def test_the_daemon_dials_through_the_gateway_we_ship() -> None:
    settings = Settings.model_validate({})
    for template in (settings.counsellor_dial_template, settings.forward_dial_template):
        assert template.startswith("sofia/gateway/carrier/")


@pytest.mark.parametrize("path", [REGISTER, IP_AUTH], ids=lambda p: p.stem)
def test_mod_sofia_would_load_it(path: Path) -> None:
    """sofia.c skips a gateway without username or password, even one that never registers."""
    values = params(path)
    assert values["username"] and values["password"]
    assert values["proxy"] and values["realm"]
    assert values["caller-id-in-from"] == "true"  # the number the daemon sets is the one shown
    assert int(values["ping"]) >= 5  # sofia.c: a ping below 5 s is refused
    assert values["context"] == "public"  # where 00_calld.xml takes calls


def test_registration_only_where_the_carrier_gave_a_login() -> None:
    assert params(REGISTER)["register"] == "true"
    assert params(IP_AUTH)["register"] == "false"
    assert "@CARRIER_PASSWORD@" in params(REGISTER)["password"]  # replaced by the install step
