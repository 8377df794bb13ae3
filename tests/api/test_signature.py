"""``api.signature`` against the plivo SDK as oracle: every request is signed by the SDK's code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, urlparse

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from plivo.utils import validate_v3_signature
from plivo.utils.signature_v3 import (
    construct_get_url,
    construct_post_url,
    get_map_from_query,
    get_signature_v3,
)

from api.signature import SignatureVerifier, signed_string

Fields = dict[str, list[str]]
TOKEN, NONCE = "MY_AUTH_TOKEN", "12345678901234567890"
HANGUP_BODY: Fields = {"CallUUID": ["abc-123"], "CallStatus": ["completed"], "To": ["14155551234"]}
DOCS_BODY: Fields = {
    "CallUUID": ["4vbcpem8-0u46-x1ha-9af1-438vc92bf374"],
    "Digits": ["1234"],
    "From": ["+15551111111"],
    "To": ["+15555555555"],
}


def sdk_string(method: str, url: str, params: Fields | None) -> bytes:
    """The string the SDK signs, without the nonce (copies: the SDK mutates its argument)."""
    copied = {k: v if isinstance(v, str) else list(v) for k, v in (params or {}).items()}
    if method.upper() == "GET":
        result: bytes = construct_get_url(url, copied)
    else:
        result = construct_post_url(url, copied)
    return result


def sdk_sign(method: str, url: str, params: Fields | None, token: str, nonce: str) -> str:
    """The X-Plivo-Signature-V3 value the SDK computes."""
    base = sdk_string(method, url, params).decode()
    signature: bytes = get_signature_v3(token.encode(), base, nonce.encode())
    return signature.decode()


def check(method: str, url: str, params: Fields | None, header: str, token: str = TOKEN) -> bool:
    return SignatureVerifier([token], []).verify(method, url, params, NONCE, header, None)


# --- §5.4 worked examples --------------------------------------------------------------------

EX, DOCS_NONCE = "https://example.com", "kjsdhfsd87sd7yisud2"
HANGUP_SIGNED = "CallStatuscompletedCallUUIDabc-123To14155551234"
RING_QUERY = "CallUUID=abc-123&CallStatus=ringing&To=14155551234"
DOCS_SIGNED = "CallUUID4vbcpem8-0u46-x1ha-9af1-438vc92bf374Digits1234From+15551111111To+15555555555"
SIG_POST = "Ln4eTVZsiiW24AtqcsNu1TVjt2R5RO8bB/hIA2F2QNA="
SIG_GET = "xC74JUf+4bOxCM3z6jOMDreYbJiGf4KU5wPTJkO/oCo="
VECTORS = {  # id: (method, url, params, nonce, signed string without nonce, V3 or None)
    "post-query": ("POST", f"{EX}/hangup/?b=2&a=1", HANGUP_BODY, NONCE,
                   f"{EX}/hangup/?a=1&b=2.{HANGUP_SIGNED}", SIG_POST),
    "post": ("POST", f"{EX}/hangup/", HANGUP_BODY, NONCE, f"{EX}/hangup/?{HANGUP_SIGNED}", None),
    "get": ("GET", f"{EX}/ring/?{RING_QUERY}", None, NONCE,
            f"{EX}/ring/?CallStatus=ringing&CallUUID=abc-123&To=14155551234", SIG_GET),
    "docs": ("POST", f"{EX}/abcd?foo=bar", DOCS_BODY, DOCS_NONCE,
             f"{EX}/abcd?foo=bar.{DOCS_SIGNED}", "Ug6FvQ3HEouDQkU6MBoCeTZ6ZgtrKFrogoEfmqhZ+No="),
}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "params", "nonce", "string", "expected"), VECTORS.values(), ids=VECTORS
)
def test_worked_examples(
    method: str, url: str, params: Fields | None, nonce: str, string: str, expected: str | None
) -> None:
    assert signed_string(method, url, params, nonce) == f"{string}.{nonce}".encode()
    signature = sdk_sign(method, url, params, TOKEN, nonce)
    if expected is not None:
        assert signature == expected
    assert validate_v3_signature(method, url, nonce, TOKEN, signature, params)
    verifier = SignatureVerifier([TOKEN], [])
    assert verifier.verify(method, url, params, nonce, signature, None)
    assert verifier.verify(method.lower(), url, params, nonce, f"bogus, {signature}", None)


def test_worked_example_rejections() -> None:
    url, sig = f"{EX}/hangup/?b=2&a=1", SIG_POST
    assert check("POST", url, HANGUP_BODY, sig)
    assert not check("POST", url, HANGUP_BODY | {"CallStatus": ["busy"]}, sig)
    assert not check("POST", url.replace("https", "http"), HANGUP_BODY, sig)
    assert not check("POST", url.replace("/?", "?"), HANGUP_BODY, sig)
    ring = dict(parse_qsl(RING_QUERY))
    assert check("GET", f"{EX}/ring/?{RING_QUERY}", {k: [v] for k, v in ring.items()}, SIG_GET)


@pytest.mark.parametrize(
    ("method", "url", "params", "string"),
    [
        (
            "POST",
            "https://h/p",
            {"CallUUID": ["x"], "CallerName": [""]},
            "https://h/p?CallUUIDxCallerName",
        ),
        ("GET", "https://h/p?x=a%20b&y=c+d&e", None, "https://h/p?e=&x=a b&y=c d"),
        ("GET", "https://h/p?a=query", {"a": ["param"], "b": ["2"]}, "https://h/p?a=query&b=2"),
        ("POST", "https://h/hangup#rp=all", {"a": ["1"]}, "https://h/hangup?a1"),
        ("POST", "HTTPS://h/p;v=2?q=1", {"k": ["b", "a"]}, "https://h/p?q=1.kakb"),
        ("POST", "https://h/p", {}, "https://h/p"),
        ("POST", "https://h/p?q=1", None, "https://h/p?q=1"),
        ("GET", "https://h/p", {"k": "one value"}, "https://h/p?k=one value"),  # a bare str
    ],
)
def test_edge_cases_agree_with_sdk(
    method: str, url: str, params: Fields | None, string: str
) -> None:
    assert signed_string(method, url, params, "n") == f"{string}.n".encode()
    assert signed_string(method, url, params, "n") == sdk_string(method, url, params) + b".n"
    assert check(method, url, params, sdk_sign(method, url, params, TOKEN, NONCE))


def test_missing_parts_and_bad_method_are_rejected() -> None:
    url, body = "https://h/p", {"a": ["1"]}
    sig = sdk_sign("POST", url, body, TOKEN, NONCE)
    verifier = SignatureVerifier([TOKEN], [TOKEN])
    assert verifier.verify("POST", url, body, NONCE, sig, None)
    assert not verifier.verify("POST", url, body, None, sig, sig)
    assert not verifier.verify("POST", url, body, "", sig, sig)
    assert not verifier.verify("POST", url, body, NONCE, None, None)
    assert not verifier.verify("POST", url, body, NONCE, "", ",")
    assert not verifier.verify("PUT", url, body, NONCE, sig, sig)
    with pytest.raises(ValueError, match="GET and POST"):
        signed_string("PUT", url, body, NONCE)
    with pytest.raises(ValueError, match="at least one"):
        SignatureVerifier([], [])
    with pytest.raises(ValueError, match="empty"):
        SignatureVerifier([TOKEN], [""])
    with pytest.raises(TypeError):
        SignatureVerifier(TOKEN, [])


def test_non_ascii_nonce_is_utf8_unlike_sdk_validate() -> None:
    """The SDK's validate encodes a str nonce, then reads the bytes back as latin-1 (mojibake)."""
    url, body, nonce = "https://h/p", {"a": ["1"]}, "nonceé"
    base = sdk_string("POST", url, body).decode()
    utf8: str = get_signature_v3(TOKEN.encode(), base, nonce).decode()
    mojibake = sdk_sign("POST", url, body, TOKEN, nonce)  # bytes nonce, as validate does
    assert SignatureVerifier([TOKEN]).verify("POST", url, body, nonce, utf8, None)
    assert not SignatureVerifier([TOKEN]).verify("POST", url, body, nonce, mojibake, None)
    assert validate_v3_signature("POST", url, nonce, TOKEN, mojibake, body)
    assert not validate_v3_signature("POST", url, nonce, TOKEN, utf8, body)


# --- properties ------------------------------------------------------------------------------

ASCII = st.characters(max_codepoint=127)  # the SDK raises on a non-ASCII (decoded) query
PATH_CHARS = st.sampled_from("abcXYZ019-._~%;=:@!$'()*+,")
tokens = st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t)
nonces = st.text(st.sampled_from("0123456789abcdefABCDEF-"), min_size=1, max_size=24)
params_st = st.dictionaries(
    st.text(max_size=8), st.lists(st.text(max_size=8), max_size=3), max_size=6
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    items = []
    for key, value in draw(
        st.lists(st.tuples(st.text(ASCII, max_size=6), st.text(ASCII, max_size=6)))
    ):
        style = draw(st.sampled_from(["kv", "blank", "bare"]))
        quoted = quote(key, safe="") + ("=" + quote(value, safe="") if style == "kv" else "")
        items.append(quoted + ("=" if style == "blank" else ""))
    return "&".join(items)


@dataclass(frozen=True)
class Request:
    """A callback as Plivo would sign it, with its URL kept in parts so tests can vary them."""

    method: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    fragment: str
    params: Fields
    nonce: str

    @property
    def url(self) -> str:
        netloc = self.host if self.port is None else f"{self.host}:{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{netloc}{self.path}{query}{self.fragment}"

    def signed_by(self, token: str) -> str:
        return sdk_sign(self.method, self.url, self.params, token, self.nonce)

    def passes(
        self,
        header: str | None,
        tokens: list[str],
        ma: str | None = None,
        main: tuple[str, ...] = (),
    ) -> bool:
        verifier = SignatureVerifier(tokens, main)
        return verifier.verify(self.method, self.url, self.params, self.nonce, header, ma)


requests = st.builds(
    Request,
    method=st.sampled_from(["GET", "POST", "get", "Post"]),
    scheme=st.sampled_from(["http", "https"]),
    host=st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}", fullmatch=True),
    port=st.none() | st.integers(1, 65535),
    path=st.lists(st.text(PATH_CHARS, max_size=6), max_size=4).map(lambda s: "/" + "/".join(s)),
    query=st.just("") | queries(),
    fragment=st.sampled_from(["", "#", "#rp=all", "#rc=3&rp=all"]),
    params=params_st,
    nonce=nonces,
)


@settings(max_examples=200)
@given(requests, tokens)
def test_sdk_signatures_verify(request: Request, token: str) -> None:
    expected = (
        sdk_string(request.method, request.url, request.params) + b"." + request.nonce.encode()
    )
    assert signed_string(request.method, request.url, request.params, request.nonce) == expected
    assert request.passes(request.signed_by(token), [token])


def unsigned_keys(request: Request) -> set[str]:
    """Keys whose param value is not signed: on GET the URL's query replaces a same-named param."""
    if request.method.upper() != "GET":
        return set()
    return set(get_map_from_query(urlparse(request.url.encode()).query))


@settings(max_examples=200)
@given(requests, tokens, st.data())
def test_any_change_breaks_the_signature(request: Request, token: str, data: st.DataObject) -> None:
    signature = request.signed_by(token)
    change = data.draw(
        st.sampled_from(["path", "scheme", "port", "value", "add", "nonce", "token"]),
        label="change",
    )
    changed, other_token = request, token
    if change == "path":
        # prefixed: the SDK drops a last-segment ``;params``, where a suffix would go
        changed = replace(request, path="/x" + request.path)
    elif change == "scheme":
        changed = replace(request, scheme="https" if request.scheme == "http" else "http")
    elif change == "port":
        changed = replace(request, port=8443 if request.port is None else request.port % 65535 + 1)
    elif change == "value":
        keys = sorted(k for k, v in request.params.items() if v and k not in unsigned_keys(request))
        assume(keys)
        key = data.draw(st.sampled_from(keys), label="key")
        values = list(request.params[key])
        values[data.draw(st.integers(0, len(values) - 1), label="index")] += "x"
        changed = replace(request, params=request.params | {key: values})
    elif change == "add":
        key = "zz-added"
        assume(key not in request.params and key not in unsigned_keys(request))
        changed = replace(request, params=request.params | {key: [""]})
    elif change == "nonce":
        changed = replace(request, nonce=request.nonce + "0")
    else:
        other_token = token + "x"  # not "\x00": HMAC pads short keys with zeros
    assert not changed.passes(signature, [other_token])


@settings(max_examples=100)
@given(requests, st.lists(tokens, min_size=3, max_size=6, unique=True), st.data())
def test_rotated_tokens_and_main_account(
    request: Request, pool: list[str], data: st.DataObject
) -> None:
    main, *accounts = pool
    configured = accounts[: data.draw(st.integers(1, len(accounts) - 1), label="configured")]
    stale = [t for t in accounts if t not in configured]
    signer = data.draw(st.sampled_from(configured), label="signer")
    items = [request.signed_by(t) for t in stale] + [request.signed_by(signer)]
    items = data.draw(st.permutations(items), label="order")
    header = data.draw(st.sampled_from([",", ", ", " , "]), label="sep").join(items)
    assert request.passes(header, configured)
    assert request.passes(None, configured, header, (signer,))
    assert not request.passes(",".join(request.signed_by(t) for t in stale), configured)
    by_main = request.signed_by(main)
    assert not request.passes(by_main, configured, None, (main,))
    assert request.passes(None, configured, by_main, (main,))
    assert request.passes("bogus", configured, f"x,{by_main}", (main,))
    assert not request.passes(None, configured, request.signed_by(signer), (main,))
