"""Rest-hook signatures: HMAC-SHA256 over timestamp and body, constant-time check, bounded age."""

from __future__ import annotations

import pytest

from hub.outbound.signing import SignatureError, new_secret, sign, verify

BODY = b'{"resourceType":"Bundle"}'


def test_a_signed_body_verifies() -> None:
    secret = new_secret()
    verify(secret, BODY, sign(secret, BODY, 1_800_000_000), now=1_800_000_010)


@pytest.mark.parametrize(
    ("header", "body", "now"),
    [
        (None, BODY, 1_800_000_000),
        ("garbage", BODY, 1_800_000_000),
        ("t=1800000000", BODY, 1_800_000_000),
        ("SIGNED", BODY + b" ", 1_800_000_000),  # the body was altered
        ("SIGNED", BODY, 1_800_000_000 + 301),  # too old: a replayed delivery
        ("OTHER", BODY, 1_800_000_000),  # signed with another subscription's secret
    ],
)
def test_anything_else_is_refused(header: str | None, body: bytes, now: int) -> None:
    secret = "s3cret"
    real = {"SIGNED": sign(secret, BODY, 1_800_000_000), "OTHER": sign("other", BODY, 1_800_000_000)}
    with pytest.raises(SignatureError):
        verify(secret, body, real.get(header or "", header), now)


def test_secrets_are_long_and_distinct() -> None:
    assert len(new_secret()) >= 40 and new_secret() != new_secret()
