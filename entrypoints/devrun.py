"""``make run``: serve on SQLite with development credentials made once into ``var/``.

When ``CALLTRAIL_AUTH_TOKEN`` or ``CALLTRAIL_API_KEYS`` are unset, random development values
are generated once into ``var/dev.env`` (never committed) and reused on every run, so signed
local traffic (the simulator reads the same file) works out of the box.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import os
import secrets
import sys
from pathlib import Path

from entrypoints.serve import serve
from service.settings import Settings

DEV_ENV = Path("var/dev.env")
KINDS = {
    "Answer URL (application, or answer_url)": "/plivo/answer",
    "Fallback Answer URL": "/plivo/fallback",
    "Hangup URL": "/plivo/hangup",
    "ring_url (Make Call API)": "/plivo/ring",
    "Dial action (set by calltrail's answer XML)": "/plivo/dial/action",
    "Dial callbackUrl (set by calltrail's answer XML)": "/plivo/dial/callback",
}


def dev_values() -> dict[str, str]:
    """The development values in ``var/dev.env``, created on first use."""
    if not DEV_ENV.exists():
        DEV_ENV.parent.mkdir(parents=True, exist_ok=True)
        DEV_ENV.write_text(
            f"CALLTRAIL_AUTH_TOKEN={secrets.token_urlsafe(30)}\n"
            f"CALLTRAIL_API_KEYS={secrets.token_urlsafe(24)}\n",
            encoding="utf-8",
        )
        DEV_ENV.chmod(0o600)
    pairs = (line.split("=", 1) for line in DEV_ENV.read_text(encoding="utf-8").splitlines())
    return dict(pairs)


def banner(settings: Settings, generated: set[str], local_url: str) -> str:
    """What to paste into the Plivo console, how to read calls back, and where things are."""
    lines = ["", "calltrail is starting. Point Plivo at:"]
    lines += [f"  {label:<48} {settings.public_url}{path}" for label, path in KINDS.items()]
    lines += [
        "",
        "  Plivo retries only connect failures and read timeouts by default: append",
        "  '#rp=all' to each URL (e.g. .../plivo/hangup#rp=all) so a 503 is retried too.",
    ]
    if not settings.public_url.startswith("https://"):
        lines += [
            "  Plivo calls these URLs from the internet, over https: put this service behind a",
            "  TLS proxy or tunnel and set CALLTRAIL_PUBLIC_URL=https://<its public address>",
            "  (signatures are checked against that URL).",
        ]
    lines += _reading(settings, generated, local_url) + _local(settings, generated)
    return "\n".join(lines) + "\n"


def _reading(settings: Settings, generated: set[str], local_url: str) -> list[str]:
    """How to read the calls back: a curl line that works as printed, and the schema."""
    mine = "CALLTRAIL_API_KEYS" in generated
    key = settings.api_keys[0] if mine else "<a key of CALLTRAIL_API_KEYS>"
    return [
        "",
        "Read the calls back (the read API takes a bearer key):",
        f"  curl -H 'Authorization: Bearer {key}' {local_url}/v1/calls",
        f"  API schema: {local_url}/schema (the JSON: {local_url}/schema/openapi.json)",
        f"  web console: {local_url}/console/ (sign in with the same key)",
        "",
    ]


def _local(settings: Settings, generated: set[str]) -> list[str]:
    """Where the events go, and the development values made for this machine."""
    lines = []
    if settings.database.kind == "sqlite" and settings.database.path is not None:
        lines.append(f"  events are stored in {settings.database.path.resolve()}")
    if "CALLTRAIL_AUTH_TOKEN" in generated:
        lines += [
            f"  development auth token (from {DEV_ENV}): {settings.auth_tokens[0]}",
            "  for real Plivo traffic: export CALLTRAIL_AUTH_TOKEN=<your Plivo auth token>",
        ]
    if "CALLTRAIL_API_KEYS" in generated:
        lines.append(f"  development read API key (from {DEV_ENV}): {settings.api_keys[0]}")
    if generated:
        lines.append("  try it with simulated calls: .venv/bin/calltrail simulate --calls 200")
    return lines


def local_url(host: str, port: int) -> str:
    """The URL to reach a server listening on ``host`` from this machine."""
    with contextlib.suppress(ValueError):  # a host name, not an address
        if ipaddress.ip_address(host).is_unspecified:  # listening on every address
            host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main() -> int:
    """Fill in development values, print the banner, serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = argparse.ArgumentParser(
        prog="python -m entrypoints.devrun",
        description="make run: serve on SQLite with development credentials kept in var/dev.env",
    )
    args.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    args.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    options = args.parse_args()
    generated = {
        key for key in ("CALLTRAIL_AUTH_TOKEN", "CALLTRAIL_API_KEYS") if not os.environ.get(key)
    }
    if generated:
        values = dev_values()
        os.environ.update({key: values[key] for key in generated})
    os.environ.setdefault("CALLTRAIL_PUBLIC_URL", f"http://{options.host}:{options.port}")
    settings = Settings.from_env()
    print(banner(settings, generated, local_url(options.host, options.port)), flush=True)
    return serve(options.host, options.port, workers=1)


if __name__ == "__main__":
    sys.exit(main())
