"""Signing rest-hook deliveries: HMAC-SHA256 over the timestamp and the exact body, per-subscription secret.

Header `X-OneStory-Signature: t=<unix seconds>,v1=<hex>` where hex = HMAC-SHA256(secret, f"{t}." + body).
The timestamp is inside the MAC so that a captured delivery cannot be replayed later than the receiver's
tolerance; receivers compare in constant time (`verify`) and reject stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-OneStory-Signature"
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """A delivery's signature is missing, malformed, wrong or too old."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, body: bytes, header: str | None, now: int, tolerance: int = DEFAULT_TOLERANCE) -> None:
    if not header:
        raise SignatureError("no signature header")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as exc:
        raise SignatureError("malformed signature header") from exc
    if abs(now - timestamp) > tolerance:
        raise SignatureError("signature timestamp outside tolerance")
    if not hmac.compare_digest(given, _mac(secret, timestamp, body)):
        raise SignatureError("signature does not match")
