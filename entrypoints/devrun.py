"""``make run``: serve on SQLite with development credentials made once into ``var/``.

When ``CALLTRAIL_AUTH_TOKEN`` or ``CALLTRAIL_API_KEYS`` are unset, random development values
are generated once into ``var/dev.env`` (never committed) and reused on every run, so signed
local traffic (the simulator reads the same file) works out of the box.
"""

from __future__ import annotations

import argparse
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


def banner(settings: Settings, generated: set[str]) -> str:
    """What to paste into the Plivo console, and where things are."""
    lines = ["", "calltrail is starting. Point Plivo at:"]
    lines += [f"  {label:<48} {settings.public_url}{path}" for label, path in KINDS.items()]
    lines += [
        "",
        "  Plivo retries only connect failures and read timeouts by default: append",
        "  '#rp=all' to each URL (e.g. .../plivo/hangup#rp=all) so a 503 is retried too.",
        "",
    ]
    if settings.database.kind == "sqlite" and settings.database.path is not None:
        lines.append(f"  events are stored in {settings.database.path.resolve()}")
    if "CALLTRAIL_AUTH_TOKEN" in generated:
        lines += [
            f"  development auth token (from {DEV_ENV}): {settings.auth_tokens[0]}",
            "  for real Plivo traffic: export CALLTRAIL_AUTH_TOKEN=<your Plivo auth token>",
            "  and CALLTRAIL_PUBLIC_URL=<the https URL Plivo reaches this service at>",
        ]
    if "CALLTRAIL_API_KEYS" in generated:
        lines.append(f"  development read API key: {settings.api_keys[0]}")
    if generated:
        lines.append("  try it with simulated calls: .venv/bin/calltrail simulate --calls 200")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Fill in development values, print the banner, serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--host", default="127.0.0.1")
    args.add_argument("--port", type=int, default=8000)
    options = args.parse_args()
    generated = {
        key for key in ("CALLTRAIL_AUTH_TOKEN", "CALLTRAIL_API_KEYS") if not os.environ.get(key)
    }
    if generated:
        values = dev_values()
        os.environ.update({key: values[key] for key in generated})
    os.environ.setdefault("CALLTRAIL_PUBLIC_URL", f"http://{options.host}:{options.port}")
    settings = Settings.from_env()
    print(banner(settings, generated), flush=True)
    return serve(options.host, options.port, workers=1)


if __name__ == "__main__":
    sys.exit(main())
