"""Constant-time check of Plivo's ``X-Plivo-Signature-V3`` webhook signatures.

The signed string is rebuilt exactly as ``plivo.utils.signature_v3`` (plivo 4.63) builds it
(reference §5.2), so the SDK stays the test oracle, but the check itself is done here because
the SDK compares with ``in`` (not constant-time) and spends ~100 µs per call in argument
validators. Deliberate differences from ``validate_v3_signature``: whitespace around
comma-separated header items is ignored; an unknown method, a missing nonce or missing headers
give ``False`` instead of an exception; non-ASCII URLs, query values (the SDK raises) and
nonces (the SDK encodes them twice) are taken as UTF-8.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping, Sequence
from functools import lru_cache
from hashlib import sha256
from urllib.parse import parse_qs, urlparse, urlunparse

Params = Mapping[str, Sequence[str]]
"""Request parameters, multi-valued: Plivo form bodies may repeat a key."""

_Query = tuple[tuple[str, Sequence[str]], ...]


def _joined(params: Params, sep: str, glue: str) -> str:
    """Every ``key + sep + value``, sorted by key then value, joined by ``glue`` as the SDK does.

    Nested joins as in the SDK, so a key with no values still adds an empty ``glue`` item.
    """
    parts = []
    for key in sorted(params):
        values = params[key]
        # Hot path first (one value per field); it is right for a one-char ``str`` too.
        if len(values) == 1:
            parts.append(f"{key}{sep}{values[0]}")
        elif isinstance(values, str):  # a ``Sequence[str]`` too: the SDK signs it as one value
            parts.append(f"{key}{sep}{values}")
        else:
            parts.append(glue.join([f"{key}{sep}{value}" for value in sorted(values)]))
    return glue.join(parts)


@lru_cache(maxsize=256)
def _split_url(url: str) -> tuple[str, _Query, str]:
    """``(scheme://netloc/path, decoded query pairs, sorted query string)``, cached per URL.

    ``urlparse`` (not ``urlsplit``) as in the SDK, so ``;params`` and the fragment are dropped.
    """
    parts = urlparse(url)
    base = urlunparse((parts.scheme, parts.netloc, parts.path, "", "", ""))
    query = tuple((k, tuple(v)) for k, v in parse_qs(parts.query, keep_blank_values=True).items())
    return base, query, _joined(dict(query), "=", "&")


def signed_string(method: str, url: str, params: Params | None, nonce: str) -> bytes:
    """The exact bytes Plivo's V3 signature covers for this request (reference §5.2).

    ``url`` is the public URL Plivo was configured with, query included; ``params`` are the
    decoded form fields, blanks kept (for GET, usually ``None``: the query already holds them).
    Raises ``ValueError`` for a method other than GET or POST (case-insensitive).
    """
    base, query, query_string = _split_url(url)
    verb = method.upper()
    if verb == "GET":
        merged: dict[str, Sequence[str]] = dict(params or {})
        merged.update(query)  # the URL's query wins over a same-named param, as in the SDK
        string = _joined(merged, "=", "&")
        signed = f"{base}?{string}" if string else base
    elif verb == "POST":
        if params:
            body = _joined(params, "", "")
            signed = f"{base}?{query_string}{'.' if query_string else ''}{body}"
        else:
            signed = f"{base}?{query_string}" if query_string else base
    else:
        raise ValueError(f"Plivo signs GET and POST callbacks only, not {method!r}")
    # surrogatepass: odd input must give a mismatch, never an exception inside the check.
    return f"{signed}.{nonce}".encode("utf-8", "surrogatepass")


def _keys(tokens: Sequence[str]) -> tuple[hmac.HMAC, ...]:
    return tuple(hmac.new(token.encode(), digestmod=sha256) for token in tokens)


def _matches(keys: tuple[hmac.HMAC, ...], message: bytes, header: str | None) -> bool:
    if not header or not keys:
        return False
    expected = []
    for key in keys:
        mac = key.copy()
        mac.update(message)
        expected.append(base64.b64encode(mac.digest()))
    found = False
    # Every item is compared with every token, so timing does not tell which one matched.
    for item in header.split(","):
        candidate = item.strip().encode("utf-8", "surrogatepass")
        for signature in expected:
            found |= hmac.compare_digest(signature, candidate)
    return found


class SignatureVerifier:
    """Checks V3 signatures against the account tokens and, for ``-Ma-V3``, the main ones.

    Several tokens of each kind may be given (rotation); any match is accepted.
    """

    __slots__ = ("_account", "_main")

    def __init__(self, auth_tokens: Sequence[str], main_auth_tokens: Sequence[str] = ()) -> None:
        """Precompute one keyed HMAC per token; refuse no token at all, or an empty one."""
        if isinstance(auth_tokens, str) or isinstance(main_auth_tokens, str):
            raise TypeError("auth tokens must be a sequence of tokens, not one string")
        if not auth_tokens and not main_auth_tokens:
            raise ValueError("SignatureVerifier needs at least one auth token")
        if not all(auth_tokens) or not all(main_auth_tokens):
            raise ValueError("an empty auth token would let anyone sign")
        self._account = _keys(auth_tokens)
        self._main = _keys(main_auth_tokens)

    def verify(
        self,
        method: str,
        url: str,
        params: Params | None,
        nonce: str | None,
        signature_header: str | None,
        ma_signature_header: str | None,
    ) -> bool:
        """Whether the request is signed: ``X-Plivo-Signature-V3`` by an account token or
        ``X-Plivo-Signature-Ma-V3`` by a main token (each header: comma-separated items).

        ``nonce`` is ``X-Plivo-Signature-V3-Nonce``; see ``signed_string`` for the others.
        """
        if not nonce or not (signature_header or ma_signature_header):
            return False
        if method.upper() not in ("GET", "POST"):
            return False
        message = signed_string(method, url, params, nonce)
        account = _matches(self._account, message, signature_header)
        main = _matches(self._main, message, ma_signature_header)
        return account or main
