"""The ``calltrail simulate`` command line: options, defaults from the environment, report."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from simulator.calls import DEFAULT_MIX, Profile, parse_mix

if TYPE_CHECKING:  # imported when a simulation runs: httpx and plivo take half a second
    from simulator.run import Simulation
    from simulator.serving import CallApiPlan


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _retries(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return int(text)


def _mix(text: str) -> dict[int, float]:
    try:
        return parse_mix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (PORT 0: any free port), got {text}")
    return host, int(port)


def _faults(text: str) -> object:
    from simulator.plivo_account import Faults  # noqa: PLC0415

    try:
        return Faults.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``calltrail simulate``."""
    default_mix = ",".join(f"{code}:{weight:g}" for code, weight in DEFAULT_MIX.items())
    add = parser.add_argument
    add(
        "--target",
        action="append",
        help="base URL of a calltrail instance (repeat to spread"
        " each call's callbacks over several); default http://127.0.0.1:8000",
    )
    add(
        "--public-url",
        action="append",
        help="the URL Plivo is configured with, which"
        " signatures cover, one per --target (default: the target URL itself)",
    )
    add("--calls", type=_positive, default=1000, help="calls to simulate (default 1000)")
    add("--concurrency", type=_positive, default=32, help="calls in flight (default 32)")
    add("--rate", type=_non_negative, default=0.0, help="requests per second (default: unpaced)")
    add(
        "--duplicates",
        type=_share,
        default=0.05,
        help="share of callbacks sent twice at once, as overlapping retries (default 0.05)",
    )
    add(
        "--reorder",
        type=_share,
        default=0.1,
        help="share of calls whose callbacks are delivered shuffled (default 0.1)",
    )
    add(
        "--get-share",
        type=_share,
        default=0.2,
        help="share of requests sent by GET (default 0.2; the rest POST)",
    )
    add("--inbound-share", type=_share, default=0.3, help="share of inbound calls (default 0.3)")
    add(
        "--causes",
        type=_mix,
        default=dict(DEFAULT_MIX),
        help=f"hangup cause mix as CODE:WEIGHT,... (default {default_mix})",
    )
    add("--seed", type=int, help="seed for the traffic (default: random, printed)")
    add(
        "--start",
        type=_moment,
        help="start time of the first call, ISO 8601 (default: early enough for the last"
        " call to end as the run starts); the same seed and start give the same requests",
    )
    add(
        "--retries",
        type=_retries,
        default=5,
        help="retries of a 5xx or connection error, as Plivo's '#rp=all' (default 5)",
    )
    add(
        "--drop-hangups",
        type=_share,
        default=0.0,
        help="share of calls whose hangup callback is never sent, as when Plivo gives up"
        " on a webhook (default 0); reported apart, not a delivery failure",
    )
    add(
        "--undelivered-calls",
        type=_share,
        default=0.0,
        help="share of calls none of whose callbacks is sent (default 0): calltrail never"
        " hears of them until it reconciles with Plivo's Call API",
    )
    add(
        "--plivo-api",
        type=_address,
        metavar="HOST:PORT",
        help="also serve Plivo's Call API with the records of every simulated call, during"
        " the run and after it until Ctrl-C, then verify again (for calltrail reconcile;"
        " default: not served)",
    )
    add(
        "--plivo-auth-id",
        help="auth id the Call API accepts (default: $CALLTRAIL_PLIVO_AUTH_ID)",
    )
    add(
        "--plivo-auth-token",
        help="auth token the Call API accepts (default: $CALLTRAIL_PLIVO_AUTH_TOKEN)",
    )
    add(
        "--plivo-api-faults",
        type=_faults,
        help="faults of the Call API, e.g. unwritten=0.1,lookups=2,conflict=0.01,"
        "throttle=50,retry-after=1,errors=100 (shares of calls; every Nth request;"
        " default: none)",
    )
    add(
        "--serve-for",
        type=_non_negative,
        metavar="SECONDS",
        help="with --plivo-api: stop serving this long after the report (default: at Ctrl-C)",
    )
    add("--auth-token", help="Plivo auth token to sign with (default: $CALLTRAIL_AUTH_TOKEN)")
    add(
        "--main-auth-token",
        help="main account token for X-Plivo-Signature-Ma-V3 (default: none, not sent)",
    )
    add("--api-key", help="read API key for the check (default: $CALLTRAIL_API_KEYS)")
    add(
        "--no-verify",
        action="store_true",
        help="skip reading the calls back (default: read every call back)",
    )
    add(
        "--quiet",
        action="store_true",
        help="no progress bars (default: progress bars on standard error)",
    )


def simulation_of(args: argparse.Namespace, env: Mapping[str, str]) -> Simulation:
    """The simulation the parsed options describe; tokens default to ``env``'s."""
    from simulator.delivery import DeliveryOptions, Target, Withholding  # noqa: PLC0415
    from simulator.run import Simulation  # noqa: PLC0415

    targets = args.target or ["http://127.0.0.1:8000"]
    publics = args.public_url or targets
    if len(publics) != len(targets):
        raise SystemExit("calltrail: give one --public-url per --target")
    token = args.auth_token or _first(env.get("CALLTRAIL_AUTH_TOKEN", ""))
    if not token:
        raise SystemExit("calltrail: no auth token: pass --auth-token or set CALLTRAIL_AUTH_TOKEN")
    if args.drop_hangups + args.undelivered_calls > 1:
        raise SystemExit("calltrail: --drop-hangups and --undelivered-calls add up to more than 1")
    delivery = DeliveryOptions(
        targets=[
            Target(url.rstrip("/"), public.rstrip("/"))
            for url, public in zip(targets, publics, strict=True)
        ],
        auth_token=token,
        main_token=args.main_auth_token,
        concurrency=args.concurrency,
        rate=args.rate,
        duplicate_rate=args.duplicates,
        reorder_rate=args.reorder,
        get_share=args.get_share,
        retries=args.retries,
    )
    return Simulation(
        delivery=delivery,
        calls=args.calls,
        seed=args.seed if args.seed is not None else secrets.randbelow(2**31),
        profile=Profile(inbound_share=args.inbound_share, mix=args.causes),
        start=args.start,
        api_key=args.api_key or _first(env.get("CALLTRAIL_API_KEYS", "")) or None,
        verify=not args.no_verify,
        progress=not args.quiet,
        withholding=Withholding(hangups=args.drop_hangups, calls=args.undelivered_calls),
    )


def call_api_plan(args: argparse.Namespace, env: Mapping[str, str]) -> CallApiPlan | None:
    """How to serve the Call API (``--plivo-api``), or None; credentials default to ``env``'s."""
    from plivo.utils import is_valid_mainaccount, is_valid_subaccount  # noqa: PLC0415

    from simulator.plivo_account import Faults  # noqa: PLC0415
    from simulator.serving import CallApiPlan  # noqa: PLC0415

    if args.plivo_api is None:
        return None
    auth_id = args.plivo_auth_id or env.get("CALLTRAIL_PLIVO_AUTH_ID", "").strip()
    token = args.plivo_auth_token or env.get("CALLTRAIL_PLIVO_AUTH_TOKEN", "").strip()
    if not auth_id or not token:
        raise SystemExit(
            "calltrail: --plivo-api needs the credentials calltrail reconcile will use:"
            " set CALLTRAIL_PLIVO_AUTH_ID and CALLTRAIL_PLIVO_AUTH_TOKEN"
            " (or pass --plivo-auth-id and --plivo-auth-token)"
        )
    if not (is_valid_mainaccount(auth_id) or is_valid_subaccount(auth_id)):
        raise SystemExit(f"calltrail: {auth_id!r} is not a Plivo auth id (MA or SA + 18 chars)")
    host, port = args.plivo_api
    faults = args.plivo_api_faults or Faults()
    return CallApiPlan(host, port, auth_id, token, faults, args.serve_for)


def simulate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the simulation and print the report on standard output (progress bars and
    errors go to standard error); exit 0 only if every call was acknowledged and read
    back as sent."""
    # One log line per request would drown the progress bar and the report.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from simulator.run import UnreachableError, run, summary  # noqa: PLC0415
    from simulator.serving import run_serving  # noqa: PLC0415

    simulation = simulation_of(args, env)
    plan = call_api_plan(args, env)
    try:
        if plan is not None:
            outcome = run_serving(simulation, plan, sys.stdout)
        else:
            outcome = run(simulation)
            print(summary(outcome))
    except UnreachableError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 1
    return 0 if outcome.ok else 1


def _first(items: str) -> str:
    return next((item.strip() for item in items.split(",") if item.strip()), "")
