"""API fuzzing from our own OpenAPI document (schemathesis) against a running daemon.

    .venv/bin/python -m fuzz.api [--examples 100]

Starts a real daemon process (``python -m daemon run``) on an embedded PostgreSQL
in a temporary data directory, makes two tenants with operator tokens and some
data, then runs schemathesis over every route: the admin routes with the admin
token, the operator routes with an operator token.  What must hold: no response
is a 5xx, every response matches the schema, status code and content type the
document declares.  Exits non-zero on any failure; the reports land in the
temporary directory it prints.  The tenant-isolation sweep runs in ``make test``
(tests/http/test_tenant_isolation.py).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.daemon_process import DaemonProcess

# Speech synthesis and audio conversion run in a child with a 60 s limit (daemon/audio/limits.py), one at a
# time: on a busy 2-core machine schemathesis' default 10 s is a "network error", not a finding.
REQUEST_TIMEOUT_S = 90
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
PARTS = {  # which token fuzzes which routes
    "admin": r"^/(status|api/v1/(?!operator/).*)$",
    "operator": r"^/api/v1/operator/",
}


async def prepare(base: str, admin: dict[str, str]) -> dict[str, str]:
    """Two tenants, an operator token for the first, and a caller/counsellor/group to find."""
    tokens: dict[str, str] = {}
    async with aiohttp.ClientSession(base) as http:

        async def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
            async with http.post(path, json=body, headers=headers) as resp:
                assert resp.status in (200, 201), (path, resp.status, await resp.text())
                return dict(await resp.json())

        for name in ("fuzz-a", "fuzz-b"):
            tenant = await post("/api/v1/tenants", {"name": name, "lines": 2}, admin)
            token = await post(f"/api/v1/tenants/{tenant['id']}/tokens", {"label": "fuzz"}, admin)
            tokens[name] = token["token"]
        op = {"Authorization": f"Bearer {tokens['fuzz-a']}"}
        caller = await post(
            "/api/v1/operator/callers",
            {"name": "Taro", "numbers": ["09012345678"], "billing": "prepaid", "payment_method": "bank_transfer"},
            op,
        )
        await post(f"/api/v1/operator/callers/{caller['id']}/deposits", {"amount_yen": 3000}, op)
        member = await post(
            "/api/v1/operator/counsellors",
            {"name": "Hana", "phone_number": "08011112222"},
            op,
        )
        await post(
            "/api/v1/operator/groups",
            {"code": "1", "name": "tarot", "rate_yen_per_min": 300, "members": [member["id"]]},
            op,
        )
    return tokens


def schemathesis(url: str, token: str, paths: str, examples: int, reports: Path) -> int:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        url,
        "--header",
        f"Authorization: Bearer {token}",
        "--include-path-regex",
        paths,
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--report",
        "junit",
        "--report-dir",
        str(reports),
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--suppress-health-check",
        "all",
    ]
    return subprocess.run(command, check=False).returncode


async def main(examples: int) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="calld-apifuzz-"))
    admin_token = secrets.token_urlsafe(24)
    daemon = DaemonProcess(
        {
            "CALLD_DATA_DIR": str(data_dir),
            "CALLD_ADMIN_TOKEN": admin_token,
            "CALLD_GENERATE_PROMPTS": "false",
            "CALLD_EMBEDDED_PG_PORT": "0",  # no CDR listener needed, and 5433 may be another daemon's
        }
    )
    await daemon.start(ready_within=120)
    try:
        base = f"http://127.0.0.1:{daemon.http_port}"
        tokens = await prepare(base, {"Authorization": f"Bearer {admin_token}"})
        url = f"{base}/api/v1/openapi.json"
        failed = 0
        for part, paths in PARTS.items():
            token = admin_token if part == "admin" else tokens["fuzz-a"]
            code = await asyncio.to_thread(schemathesis, url, token, paths, examples, data_dir / f"report-{part}")
            print(f"{part} routes: schemathesis exit {code}", flush=True)
            failed += code != 0
        print(f"reports in {data_dir}", flush=True)
        return 1 if failed else 0
    finally:
        await daemon.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    sys.exit(asyncio.run(main(parser.parse_args().examples)))
