"""A verified token is remembered until it expires, and only the exact signed text it was checked as."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.auth.tokens import LOCAL_ISSUER, AuthError, TokenVerifier, issue_token


def _token(key: ec.EllipticCurvePrivateKey, ttl: timedelta, role: str = "gp") -> str:
    return issue_token(
        key, user="u1", organisation="A81001", role=role, purpose="direct-care", now=datetime.now(UTC), ttl=ttl
    )


def test_a_repeated_token_is_not_checked_again_but_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(key.public_key(), LOCAL_ISSUER, "onestory")
    token = _token(key, timedelta(seconds=2))
    checks: list[str] = []
    real_check = verifier._check
    monkeypatch.setattr(verifier, "_check", lambda t: checks.append(t) or real_check(t))

    first, second = verifier.verify(token), verifier.verify(token)
    assert first == second and first.role == "gp" and checks == [token]

    # Past its expiry the remembered answer is not used: the full check runs again, and refuses it.
    time.sleep(2.5)
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token)
    assert checks == [token, token]


def test_a_changed_token_is_checked_and_refused_even_after_the_real_one_passed() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(key.public_key(), LOCAL_ISSUER, "onestory")
    token = _token(key, timedelta(minutes=5))
    verifier.verify(token)
    signature = token.split(".")[2]
    forged = _token(ec.generate_private_key(ec.SECP256R1()), timedelta(minutes=5), role="ig-officer")
    with pytest.raises(AuthError, match="signature"):
        verifier.verify(".".join([forged.split(".")[0], forged.split(".")[1], signature]))
    with pytest.raises(AuthError):
        verifier.verify(forged)


def test_refused_tokens_are_not_remembered_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(key.public_key(), LOCAL_ISSUER, "onestory")
    monkeypatch.setattr(TokenVerifier, "CACHE_SIZE", 3)
    stale = _token(key, timedelta(seconds=-10))
    for _ in range(2):
        with pytest.raises(AuthError, match="expired"):
            verifier.verify(stale)
    assert stale not in verifier._passed
    issued = [_token(key, timedelta(minutes=5)) for _ in range(5)]
    for t in issued:
        verifier.verify(t)
    assert list(verifier._passed) == issued[-3:]


def test_a_remembered_token_is_checked_again_after_the_recheck_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(key.public_key(), LOCAL_ISSUER, "onestory")
    monkeypatch.setattr(TokenVerifier, "RECHECK", 1.0)
    token = _token(key, timedelta(hours=1))
    checks: list[str] = []
    real_check = verifier._check
    monkeypatch.setattr(verifier, "_check", lambda t: checks.append(t) or real_check(t))
    verifier.verify(token)
    verifier.verify(token)
    assert len(checks) == 1
    time.sleep(1.2)
    verifier.verify(token)
    assert len(checks) == 2
