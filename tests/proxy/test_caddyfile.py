"""The reverse-proxy configuration we ship: it reaches the daemon, and hides what must stay inside."""

from __future__ import annotations

import re
from pathlib import Path

from daemon.config import Settings

CADDYFILE = Path(__file__).resolve().parents[2] / "proxy" / "Caddyfile"


def directives() -> list[str]:
    """The Caddyfile's lines without comments and indentation."""
    lines = (line.split("#", 1)[0].strip() for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def test_it_proxies_to_the_daemon_s_own_address() -> None:
    settings = Settings.model_validate({})
    assert f"reverse_proxy {settings.http_host}:{settings.http_port} {{" in directives()


def test_health_and_metrics_never_face_the_internet() -> None:
    lines = directives()
    matcher = next(line for line in lines if line.startswith("@internal path"))
    assert set(matcher.split()[2:]) == {"/metrics", "/status"}
    assert "respond @internal 404" in lines


def test_the_daemon_learns_the_client_and_the_board_streams() -> None:
    lines = directives()
    assert "header_up X-Forwarded-For {remote_host}" in lines  # replaces what the client sent
    assert "flush_interval -1" in lines  # Server-Sent Events pass at once


def test_uploads_up_to_the_guidance_limit_pass() -> None:
    from daemon.audio.limits import GuidanceLimits

    (size,) = re.findall(r"max_size (\d+)MB", CADDYFILE.read_text(encoding="utf-8"))
    assert int(size) * 1_000_000 >= GuidanceLimits().max_bytes
