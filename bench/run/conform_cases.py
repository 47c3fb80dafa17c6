"""The catalogue of `bench conform`: one function per case, registered in order, each sending
one or two requests and naming what must come back (docs/server-contract.md)."""

from __future__ import annotations

import json
import secrets
import time

from bench.run.conform_kit import (
    BOTH,
    b64,
    bare_challenge,
    bearer,
    claims,
    invalid_request,
    invalid_token,
    ok,
    refused,
    register_case,
    segment,
    sign,
    signed,
    with_timing,
)


@register_case("a valid token is accepted, with Server-Timing", BOTH)
def _valid(t):
    return (
        "GET /me with a fresh token",
        t.get(token=t.token),
        with_timing(ok),
        "200 and Server-Timing: auth;dur=",
    )


@register_case("no Authorization header: 401 with a bare Bearer challenge", BOTH)
def _none(t):
    return (
        "GET /me, no Authorization",
        t.get(),
        bare_challenge,
        '401, WWW-Authenticate: Bearer realm="...", no error',
    )


@register_case("another scheme (Basic): 401 with a bare Bearer challenge", BOTH)
def _basic(t):
    return (
        "Authorization: Basic ...",
        t.get(headers=bearer("Basic dXNlcjpwYXNz")),
        bare_challenge,
        "401, bare challenge",
    )


@register_case("the scheme name in lower case is accepted", BOTH)
def _lower(t):
    return "Authorization: bearer <token>", t.get(headers=bearer(f"bearer {t.token}")), ok, "200"


@register_case("an empty bearer token: 400 invalid_request", BOTH)
def _empty(t):
    return (
        "Authorization: Bearer",
        t.get(headers=bearer("Bearer ")),
        invalid_request,
        "400 invalid_request",
    )


@register_case("two tokens in one header: 400 invalid_request", BOTH)
def _two(t):
    return (
        "Authorization: Bearer a b",
        t.get(headers=bearer(f"Bearer {t.token} {t.token}")),
        invalid_request,
        "400 invalid_request",
    )


@register_case("illegal characters in the token: 400 invalid_request", BOTH)
def _illegal(t):
    return (
        "Authorization: Bearer abc$def",
        t.get(headers=bearer("Bearer abc$def!")),
        invalid_request,
        "400 invalid_request",
    )


@register_case("the Authorization header twice: 400 invalid_request", BOTH)
def _twice(t):
    reply = t.get(
        headers=[("Authorization", f"Bearer {t.token}"), ("Authorization", f"Bearer {t.token}")]
    )
    return "two Authorization headers", reply, invalid_request, "400 invalid_request"


@register_case("a token over 8 KiB: 401 invalid_token", BOTH)
def _oversized(t):
    return "a 9 KiB token", t.get(token="a" * 9 * 1024), invalid_token, "401 invalid_token"


@register_case("a garbage token: 401 invalid_token", BOTH)
def _garbage(t):
    return "Bearer not-a-token", t.get(token="not-a-token"), refused, "401 invalid_token"


@register_case("an error answer carries Server-Timing too", BOTH)
def _error_timing(t):
    return (
        "GET /me with a garbage token",
        t.get(token="not-a-token"),
        with_timing(refused),
        "401 with Server-Timing",
    )


@register_case("an unknown path: 404", BOTH)
def _unknown(t):
    return "GET /nowhere", t.get("/nowhere"), lambda r: r.status == 404, "404"


@register_case("a wrong method: 405 with Allow", BOTH)
def _method(t):
    reply = t.call("POST", "/me")
    return "POST /me", reply, lambda r: r.status == 405 and "allow" in r.headers, "405, Allow: GET"


@register_case("a wrong password: 400 invalid_grant", BOTH)
def _password(t):
    reply = t.call("POST", "/login", body={"username": t.username, "password": "wrong"})
    return (
        "POST /login, wrong password",
        reply,
        lambda r: r.status == 400 and b"invalid_grant" in r.body,
        "400 invalid_grant",
    )


@register_case("a login body that is not the object: 400 invalid_request", BOTH)
def _body(t):
    reply = t.call("POST", "/login", body={"username": 1})
    return 'POST /login {"username": 1}', reply, lambda r: r.status == 400, "400"


@register_case("a token after logout", BOTH)
def _logout(t):
    token = t.login()
    out = t.call("POST", "/logout", token=token)
    reply = t.get(token=token)
    revokes = t.kind == "session" or t.revokes
    if revokes:
        return f"logout ({out.status}), then GET /me", reply, invalid_token, "401 invalid_token"
    return (
        f"logout ({out.status}), then GET /me (a JWT without a denylist)",
        reply,
        ok,
        "200: nothing was stored, so nothing was revoked (the trade-off, stated)",
    )


@register_case("an unknown, well-formed session token: 401 invalid_token", ("session",))
def _unknown_session(t):
    return (
        "a random 43-character token",
        t.get(token=secrets.token_urlsafe(32)),
        invalid_token,
        "401 invalid_token",
    )


@register_case("a session token of the wrong shape: 401 invalid_token", ("session",))
def _shape(t):
    return "a 42-character token", t.get(token=t.token[:-1]), invalid_token, "401 invalid_token"


@register_case("login ignores an offered token (no session fixation)", ("session",))
def _fixation(t):
    reply = t.call(
        "POST",
        "/login",
        token=t.token,
        body={"username": t.username, "password": t.password},
    )
    fresh = reply.status == 200 and reply.json().get("token") not in (None, t.token)
    return (
        "POST /login with Authorization: Bearer <token>",
        reply,
        lambda r: fresh,
        "200 with a new token",
    )


for _alg in ("none", "None", "nOnE"):

    @register_case(f"alg {_alg} with an empty signature: 401", ("jwt",))
    def _alg_none(t, alg=_alg):
        token = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims(t))}."
        return (
            f'header {{"alg": "{alg}"}}, no signature',
            t.get(token=token),
            refused,
            "401 invalid_token",
        )


@register_case("a header without alg: 401", ("jwt",))
def _no_alg(t):
    token = f"{segment({'typ': 'JWT'})}.{segment(claims(t))}.{b64(b'x' * 32)}"
    return "header without alg", t.get(token=token), refused, "401 invalid_token"


@register_case("the signature stripped: 401", ("jwt",))
def _stripped(t):
    head, body, _ = t.token.split(".")
    return "header.payload.", t.get(token=f"{head}.{body}."), refused, "401 invalid_token"


@register_case("the signature altered: 401", ("jwt",))
def _altered(t):
    head, body, sig = t.token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    return (
        "one signature character changed",
        t.get(token=f"{head}.{body}.{flipped}"),
        refused,
        "401 invalid_token",
    )


@register_case("the payload altered after signing: 401", ("jwt",))
def _payload(t):
    head, _, sig = t.token.split(".")
    return (
        "sub changed to 2",
        t.get(token=f"{head}.{segment(claims(t, sub='2'))}.{sig}"),
        refused,
        "401 invalid_token",
    )


@register_case("signed with another key: 401", ("jwt",))
def _other_key(t):
    token = sign({"alg": "HS256", "typ": "JWT"}, claims(t), secrets.token_bytes(32))
    return "HS256 with an attacker's key", t.get(token=token), refused, "401 invalid_token"


@register_case("algorithm confusion (an RS256 header on an HS256 server): 401", ("jwt",))
def _confusion(t):
    key = t.secret or secrets.token_bytes(32)
    token = sign({"alg": "RS256", "typ": "JWT"}, claims(t), key)
    return (
        'header {"alg": "RS256"}, HMAC with the secret',
        t.get(token=token),
        refused,
        "401 invalid_token",
    )


for _header in (
    {"kid": "../../../../dev/null"},
    {"kid": "1' OR '1'='1"},
    {"jku": "http://127.0.0.1:9/jwks.json"},
    {"x5u": "http://127.0.0.1:9/cert"},
    {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
    {"crit": ["exp"]},
):
    _name = next(iter(_header))

    @register_case(
        f"a {_name} header ({json.dumps(_header[_name])[:24]}): 401, never followed",
        ("jwt",),
        needs_secret=True,
    )
    def _steer(t, extra=_header):
        token = signed(t, {"alg": "HS256", "typ": "JWT", **extra})
        return (
            f"a validly signed token with {extra}",
            t.get(token=token),
            refused,
            "401 invalid_token",
        )


for _missing in ("exp", "iat", "nbf", "iss", "aud", "sub", "jti"):

    @register_case(f"the {_missing} claim missing: 401", ("jwt",), needs_secret=True)
    def _claim_missing(t, name=_missing):
        return (
            f"a validly signed token without {name}",
            t.get(token=signed(t, **{name: None})),
            refused,
            "401 invalid_token",
        )


for _date in ("exp", "nbf", "iat"):

    @register_case(f"{_date} as a numeric string: 401", ("jwt",), needs_secret=True)
    def _string_date(t, name=_date):
        value = str(claims(t)[name])
        return (
            f'"{name}": "{value}"',
            t.get(token=signed(t, **{name: value})),
            refused,
            "401 invalid_token",
        )


@register_case("expired one second ago, zero leeway: 401", ("jwt",), needs_secret=True)
def _expired(t):
    now = int(time.time())
    token = signed(t, exp=now - 1, iat=now - 60, nbf=now - 60)
    return "exp = now - 1 s", t.get(token=token), refused, "401 invalid_token"


@register_case("not valid before a time in the future (nbf): 401", ("jwt",), needs_secret=True)
def _nbf(t):
    return (
        "nbf = now + 30 s",
        t.get(token=signed(t, nbf=int(time.time()) + 30)),
        refused,
        "401 invalid_token",
    )


@register_case("issued in the future (iat): 401", ("jwt",), needs_secret=True)
def _iat(t):
    return (
        "iat = now + 30 s",
        t.get(token=signed(t, iat=int(time.time()) + 30)),
        refused,
        "401 invalid_token",
    )


for _issuer in ("evil", "authbenc", "xauthbench"):

    @register_case(f"a wrong issuer ({_issuer}): 401", ("jwt",), needs_secret=True)
    def _wrong_issuer(t, issuer=_issuer):
        issuer = {"authbenc": t.issuer[:-1], "xauthbench": "x" + t.issuer}.get(issuer, issuer)
        return (
            f'"iss": "{issuer}"',
            t.get(token=signed(t, iss=issuer)),
            refused,
            "401 invalid_token",
        )


for _audience in ("other", ["list"]):

    @register_case(
        f"a wrong audience ({'a list' if isinstance(_audience, list) else _audience}): 401",
        ("jwt",),
        needs_secret=True,
    )
    def _wrong_audience(t, audience=_audience):
        audience = [t.audience, "other"] if isinstance(audience, list) else audience
        return (
            f'"aud": {json.dumps(audience)}',
            t.get(token=signed(t, aud=audience)),
            refused,
            "401 invalid_token",
        )


for _broken in ("a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9..sig"):

    @register_case(f"a structurally broken token ({_broken}): refused", ("jwt",))
    def _structure(t, token=_broken):
        return f"Bearer {token}", t.get(token=token), refused, "401 or 400"


@register_case("a payload that is not a JSON object: 401", ("jwt",), needs_secret=True)
def _not_object(t):
    token = sign({"alg": "HS256", "typ": "JWT"}, [1, 2, 3], t.secret)
    return "payload [1, 2, 3], validly signed", t.get(token=token), refused, "401 invalid_token"
