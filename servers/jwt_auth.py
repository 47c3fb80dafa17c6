"""The JWT server: a signed token verified with a key alone, no database on GET /me.

PyJWT with exactly one allowed algorithm (HS256 by default; RS256, ES256 or EdDSA selectable),
keys loaded once into key objects at start-up (a PEM string per call re-parses the key every
time), every registered claim required, strict audience, exact issuer, zero leeway, minimum key
length enforced, and no header parameter that could point key lookup somewhere (kid, jku, x5u,
jwk, ...). With the denylist on, /me does one lookup of the token's jti again, and logout adds it.

Settings (environment): AUTHBENCH_JWT_ALG (HS256), AUTHBENCH_JWT_SECRET (HS256, at least 32
bytes; random per start when unset), AUTHBENCH_JWT_PRIVATE_KEY (PEM file for RS256/ES256/EdDSA;
a fresh key per start when unset), AUTHBENCH_JWT_ISSUER (authbench), AUTHBENCH_JWT_AUDIENCE
(authbench-api), AUTHBENCH_TOKEN_TTL (s, 3600), AUTHBENCH_JWT_DENYLIST (off),
AUTHBENCH_JWT_PREPARED_KEY (off; on: the HS256 key is checked once at start-up instead of on
every call), DATABASE_URL.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from servers.common import (
    App,
    ConfigError,
    Principal,
    Problem,
    bearer_token,
    env_flag,
    env_int,
    invalid_token,
    token_response,
)
from servers.connections import Database, DatabaseSettings, connection_name
from servers.queries import sql
from servers.store import check_password, profile_of

ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
DEFAULT_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
NUMERIC_DATES = ("exp", "nbf", "iat")
ALLOWED_HEADER = {"alg", "typ"}
DECODE_OPTIONS = {
    "require": REQUIRED_CLAIMS,
    "strict_aud": True,
    "enforce_minimum_key_length": True,
}


def generate_private_key_pem(algorithm: str) -> bytes:
    """A new private key for an asymmetric algorithm, as unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ConfigError(f"{algorithm} has no private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class JwtSettings:
    algorithm: str
    signing_key: Any  # bytes for HS256, a cryptography private key object otherwise
    verify_key: Any  # bytes for HS256, a cryptography public key object otherwise
    issuer: str = "authbench"
    audience: str = "authbench-api"
    ttl_s: int = 3600
    denylist: bool = False
    # Off by default: the comparison is made with PyJWT used as its documentation shows.
    prepared_key: bool = False
    database: DatabaseSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> JwtSettings:
        algorithm = environ.get("AUTHBENCH_JWT_ALG", DEFAULT_ALGORITHM)
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                f"AUTHBENCH_JWT_ALG={algorithm!r} is not supported; "
                f"use one of {', '.join(ALGORITHMS)}"
            )
        signing_key, verify_key = load_keys(algorithm, environ)
        return cls(
            algorithm=algorithm,
            signing_key=signing_key,
            verify_key=verify_key,
            issuer=environ.get("AUTHBENCH_JWT_ISSUER", "authbench"),
            audience=environ.get("AUTHBENCH_JWT_AUDIENCE", "authbench-api"),
            ttl_s=env_int(environ, "AUTHBENCH_TOKEN_TTL", 3600, minimum=1),
            denylist=env_flag(environ, "AUTHBENCH_JWT_DENYLIST"),
            prepared_key=env_flag(environ, "AUTHBENCH_JWT_PREPARED_KEY"),
            database=DatabaseSettings.from_env(environ),
        )


def load_keys(algorithm: str, environ: Mapping[str, str]) -> tuple[Any, Any]:
    """(signing key, verification key), loaded once into objects PyJWT uses as they are."""
    if algorithm == "HS256":
        raw = environ.get("AUTHBENCH_JWT_SECRET")
        secret = raw.encode() if raw is not None else secrets.token_bytes(MIN_SECRET_BYTES)
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"AUTHBENCH_JWT_SECRET is {len(secret)} bytes; HS256 needs at least "
                f"{MIN_SECRET_BYTES} (RFC 7518 3.2)"
            )
        return secret, secret
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = environ.get("AUTHBENCH_JWT_PRIVATE_KEY")
    if path:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"AUTHBENCH_JWT_PRIVATE_KEY: cannot read {path}: {exc.strerror}"
            ) from None
    elif shared := environ.get(SHARED_KEY_PEM):
        pem = shared.encode()
    else:
        pem = generate_private_key_pem(algorithm)
    try:
        private_key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"AUTHBENCH_JWT_PRIVATE_KEY is not a usable PEM private key: {exc}"
        ) from None
    # Refuse a key of the wrong kind now rather than on the first request.
    expected = jwt.get_algorithm_by_name(algorithm)
    try:
        expected.prepare_key(private_key)
    except (jwt.InvalidKeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"AUTHBENCH_JWT_PRIVATE_KEY does not fit {algorithm}: {exc}") from None
    return private_key, private_key.public_key()


class PreparedHMAC(HMACAlgorithm):
    """HMAC whose key PyJWT checks once, at start-up, instead of on every call.

    PyJWT's HMACAlgorithm.prepare_key re-examines the secret on every decode (PEM, SSH and DER
    detection, and a JSON parse attempt that raises and is caught): about 15% of a JWT server's
    CPU under load. The checks are the same; they just run once. Any other key than the one
    prepared still goes through them in full.
    """

    def __init__(self, hash_alg, key: bytes):
        super().__init__(hash_alg)
        self._key, self._prepared = key, super().prepare_key(key)

    def prepare_key(self, key):
        return self._prepared if key is self._key else super().prepare_key(key)


def make_decoder(settings: JwtSettings):
    """What verifies tokens: PyJWT's module-level decoder, or (AUTHBENCH_JWT_PREPARED_KEY=1 with
    HS256) a PyJWT instance whose only algorithm is HS256 with the key prepared once. The
    one-algorithm allow-list and every claim check stay as they are."""
    if not (settings.prepared_key and settings.algorithm == "HS256"):
        return jwt
    decoder = jwt.PyJWT()
    signer = jwt.PyJWS(algorithms=["HS256"])
    signer.unregister_algorithm("HS256")
    signer.register_algorithm("HS256", PreparedHMAC(HMACAlgorithm.SHA256, settings.verify_key))
    decoder._jws = signer  # PyJWT wires its own module-level instance the same way
    return decoder


class JwtAuth:
    name = "jwt_auth"

    def __init__(self, settings: JwtSettings):
        self.settings = settings
        self.algorithms = [settings.algorithm]  # exactly one: no algorithm confusion
        self.decoder = make_decoder(settings)
        self.db = Database(settings.database, connection_name(self.name, os.getpid()))
        # The denylist's statements (servers/contract.sql), taken once rather than per request.
        self.is_revoked_sql, self.revoke_sql = sql("is_revoked"), sql("revoke")

    async def startup(self) -> None:
        await self.db.open()  # for login, and for the denylist when it is on

    async def shutdown(self) -> None:
        await self.db.close()

    def issue(self, principal: Principal) -> str:
        s, now = self.settings, int(time.time())
        claims = {
            "iss": s.issuer,
            "aud": s.audience,
            "sub": str(principal.user_id),
            "name": principal.username,
            "iat": now,
            "nbf": now,
            "exp": now + s.ttl_s,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, s.signing_key, algorithm=s.algorithm)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or invalid_token. Signature first, then every claim."""
        s = self.settings
        try:
            decoded = self.decoder.decode_complete(
                token,
                s.verify_key,
                algorithms=self.algorithms,
                audience=s.audience,
                issuer=s.issuer,
                leeway=0,
                options=DECODE_OPTIONS,
            )
        except jwt.InvalidTokenError as exc:
            raise invalid_token(_describe(exc)) from None
        except RecursionError:  # a deeply nested JSON header
            raise invalid_token("token header is not valid JSON") from None
        header, claims = decoded["header"], decoded["payload"]
        for name in NUMERIC_DATES:
            # RFC 7519 2: a NumericDate is a JSON number. PyJWT converts strings with int().
            if isinstance(claims[name], bool) or not isinstance(claims[name], int | float):
                raise invalid_token(f"{name} is not a NumericDate (a JSON number)")
        if not header.keys() <= ALLOWED_HEADER or header.get("typ", "JWT") != "JWT":
            raise invalid_token("unexpected token header parameters")
        if not isinstance(claims["sub"], str) or not claims["sub"].isdigit():
            raise invalid_token("sub is not a user id")
        if not isinstance(claims.get("name"), str) or not isinstance(claims["jti"], str):
            raise invalid_token("name and jti must be strings")
        return claims

    async def login(self, username: str, password: str) -> dict:
        """Exercises: password check, then signing a token (no database write)."""
        principal = await check_password(self.db, username, password)
        if principal is None:
            raise Problem(400, "invalid_grant", "unknown username or wrong password")
        return token_response(self.issue(principal), self.settings.ttl_s)

    async def authenticate(self, headers) -> Principal:
        """Exercises: PyJWT signature and claim checks; with the denylist, one jti lookup."""
        claims = self.verify(bearer_token(headers))
        if self.settings.denylist and await self.db.fetchrow(self.is_revoked_sql, claims["jti"]):
            raise invalid_token("token revoked")
        return Principal(int(claims["sub"]), claims["name"])

    async def profile(self, headers, timing: list[int]) -> dict:
        """Exercises: PyJWT verification, then one data query by the token's sub (with the
        denylist, its jti lookup first)."""
        principal = await self.authenticate(headers)
        timing[0] = time.perf_counter_ns()
        return await profile_of(self.db, principal.user_id)

    async def logout(self, headers) -> None:
        """Exercises: verification; with the denylist, one INSERT of the jti. Without it the
        token stays valid until it expires: the price of not asking a database."""
        claims = self.verify(bearer_token(headers))
        if self.settings.denylist:
            await self.db.execute(self.revoke_sql, claims["jti"], float(claims["exp"]))


def _describe(exc: jwt.InvalidTokenError) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace('"', "'").replace("\\", "")


def make_auth(environ: Mapping[str, str]) -> JwtAuth:
    return JwtAuth(JwtSettings.from_env(environ))


app = App(make_auth)


# Set by share_jwt_keys for the workers of one server: the generated key as PEM text, handed
# over in the environment (a key file in /tmp would outlive a server that uvicorn ends by
# re-raising SIGTERM, which skips atexit). Not a user setting: use AUTHBENCH_JWT_PRIVATE_KEY.
SHARED_KEY_PEM = "AUTHBENCH_JWT_SHARED_KEY_PEM"


def share_jwt_keys(environ: dict[str, str]) -> None:
    """Make the JWT key the same in every worker: generate it once here when none is given."""
    algorithm = environ.get("AUTHBENCH_JWT_ALG", DEFAULT_ALGORITHM)
    if algorithm == "HS256" and "AUTHBENCH_JWT_SECRET" not in environ:
        environ["AUTHBENCH_JWT_SECRET"] = secrets.token_urlsafe(MIN_SECRET_BYTES)
    elif (
        algorithm != "HS256"
        and algorithm in ALGORITHMS
        and not environ.get("AUTHBENCH_JWT_PRIVATE_KEY")
        and not environ.get(SHARED_KEY_PEM)
    ):
        environ[SHARED_KEY_PEM] = generate_private_key_pem(algorithm).decode()
