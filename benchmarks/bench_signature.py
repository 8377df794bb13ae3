"""V3 signature check per request: the plivo SDK's ``validate_v3_signature`` vs ours.

Both check the same realistic hangup POST (the captured body of reference §1.5, 24 fields,
a configured ``?tenant=`` query, two rotated tokens in the header), in the same process.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from plivo.utils import validate_v3_signature
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3

from api.signature import SignatureVerifier
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP

URL = "https://calltrail.example.com/plivo/hangup?tenant=acme"
TOKEN, OLD_TOKEN = "MY_AUTH_TOKEN_0123456789abcdef01", "MY_OLD_TOKEN_0123456789abcdef0"
NONCE = "12345678901234567890"


def per_call_us(check: Callable[[], bool], number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` time of one call, in µs (the minimum is the least noisy estimate)."""
    if not check():
        raise AssertionError("the benchmarked check must accept the request")
    return min(timeit.repeat(check, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    """Time both checks on the same request and print µs per call and the ratio."""
    params = {key: [value] for key, value in ANSWERED_OUTBOUND_HANGUP.items()}
    base = construct_post_url(URL, {k: list(v) for k, v in params.items()}).decode()
    signatures = [
        get_signature_v3(t.encode(), base, NONCE.encode()).decode() for t in (OLD_TOKEN, TOKEN)
    ]
    header = ",".join(signatures)
    one, rotated = SignatureVerifier([TOKEN]), SignatureVerifier([TOKEN, OLD_TOKEN])

    def sdk() -> bool:
        return bool(validate_v3_signature("POST", URL, NONCE, TOKEN, header, params))

    sdk_us = per_call_us(sdk, number=2_000)
    ours_us = per_call_us(lambda: one.verify("POST", URL, params, NONCE, header, None), 20_000)
    both_us = per_call_us(lambda: rotated.verify("POST", URL, params, NONCE, header, None), 20_000)
    print(f"hangup POST, {len(params)} fields, header with 2 comma-separated signatures")
    print(f"plivo validate_v3_signature, 1 token: {sdk_us:8.2f} µs/call")
    print(f"SignatureVerifier.verify,    1 token: {ours_us:8.2f} µs/call")
    print(f"SignatureVerifier.verify,   2 tokens: {both_us:8.2f} µs/call")
    print(f"ratio sdk/ours (1 token): {sdk_us / ours_us:.1f}x")


if __name__ == "__main__":
    main()
