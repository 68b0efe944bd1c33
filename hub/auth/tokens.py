"""Bearer tokens: who is asking, for which organisation, in which role and for what purpose.

In the embedded default the hub is its own authorization server: an ES256 key in the data dir signs tokens
(`onestory token`). In production the hub trusts an external OIDC issuer and fetches its keys (JWKS).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

LOCAL_ISSUER = "urn:onestory:hub"
PURPOSES = ("direct-care", "safeguarding", "audit")
AUDIT_PURPOSE = "audit"  # the only purpose for which the access log itself may be read


class AuthError(Exception):
    """Why a token was refused; safe to show the caller (it never echoes token contents)."""


@dataclass(frozen=True)
class Principal:
    user: str
    organisation: str
    role: str
    purpose: str
    scopes: tuple[str, ...]
    token_id: str | None = None
    patient: str | None = None  # SMART patient context: a patient/* token may read only this child


def _key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "signing-key.pem"


def has_signing_key(data_dir: Path) -> bool:
    """True if the data dir already holds the hub's signing key (a fresh key would sign tokens no hub accepts)."""
    return _key_path(data_dir).exists()


def load_or_create_signing_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    path = _key_path(data_dir)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AuthError(f"{path} does not hold an EC private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(path.with_suffix(".tmp"), path)
    return key


def issue_token(
    key: ec.EllipticCurvePrivateKey,
    *,
    user: str,
    organisation: str,
    role: str,
    purpose: str,
    now: datetime,
    ttl: timedelta = timedelta(hours=8),
    scopes: tuple[str, ...] = ("user/*.read",),
    audience: str = "onestory",
    patient: str | None = None,
) -> str:
    if purpose not in PURPOSES:
        raise AuthError(f"purpose must be one of {', '.join(PURPOSES)}")
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": audience,
        "sub": user,
        "org": organisation,
        "role": role,
        "purpose_of_use": purpose,
        "scope": " ".join(scopes),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if patient is not None:
        claims["patient"] = patient
    return jwt.encode(claims, key, algorithm="ES256")


def require_known(principal: Principal, roles: Collection[str], organisations: Collection[str]) -> Principal:
    """Refuse a validly signed token whose role or organisation this hub does not know.

    Such a token would otherwise read as an empty story (the consent engine shows nothing to a stranger),
    which looks like "no data" instead of "wrong token". The message names the claim, never its value.
    """
    unknown = [
        what
        for what, value, known in (
            ("role", principal.role, roles),
            ("organisation", principal.organisation, organisations),
        )
        if value not in known
    ]
    if unknown:
        raise AuthError(
            f"the token's {' and '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} unknown to this hub"
        )
    return principal


class TokenVerifier:
    """Checks signature, issuer, audience and expiry, then the OneStory claims.

    A practitioner's page or a FHIR client sends the same token with every request, and the signature check
    (ECDSA/RSA) is the dearest part of a cached read. So a token that passed is remembered, keyed by its exact
    text, with its expiry: a repeat is the same signed bytes, so it gets the same answer until it expires, and
    is checked against the clock on every use. Refused tokens are never remembered. Bounded, oldest dropped.
    A remembered answer is also dropped after `RECHECK` seconds, so a key the issuer withdraws from its JWKS
    stops tokens it signed within minutes, not at their expiry.
    """

    CACHE_SIZE = 4096
    RECHECK = 300.0  # seconds

    def __init__(self, public_key: Any | None, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        self._passed: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def local(cls, data_dir: Path, audience: str = "onestory") -> TokenVerifier:
        return cls(load_or_create_signing_key(data_dir).public_key(), LOCAL_ISSUER, audience)

    def verify(self, token: str) -> Principal:
        with self._lock:
            hit = self._passed.get(token)
        if hit is not None and time.time() < hit[1]:
            return hit[0]
        principal, expires = self._check(token)
        expires = min(expires, time.time() + self.RECHECK)
        with self._lock:
            self._passed[token] = (principal, expires)
            while len(self._passed) > self.CACHE_SIZE:
                self._passed.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._public_key
            if key is None:
                raise AuthError("no key to verify tokens with")
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256", "RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("token signature is not valid") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"token not accepted: {type(exc).__name__}") from exc
        missing = [c for c in ("org", "role", "purpose_of_use") if not claims.get(c)]
        if missing:
            raise AuthError(f"token lacks claim(s): {', '.join(missing)}")
        if claims["purpose_of_use"] not in PURPOSES:
            raise AuthError("token purpose_of_use is not recognised")
        principal = Principal(
            user=str(claims["sub"]),
            organisation=str(claims["org"]),
            role=str(claims["role"]),
            purpose=str(claims["purpose_of_use"]),
            scopes=tuple(str(claims.get("scope", "")).split()),
            token_id=claims.get("jti"),
            patient=str(claims["patient"]) if claims.get("patient") else None,
        )
        return principal, float(claims["exp"])
