"""One-time access codes for "My story", and the short sessions they open.

A practitioner with a legitimate relationship issues a code for a young person (or a person with parental
responsibility); it is shown once. The code is `IIII-SSSS-SSSS`: a public id (which code it is, so wrong tries
can be counted against it) and a secret, of which only a hash is kept. Signing in takes the code and the
young person's date of birth; `max_tries` wrong tries lock the code for good (the caller audits it, and the
lock raises an IG alert, hub.audit.alerts). A code opens one session: a random cookie value (kept hashed) with
its own CSRF token and a short expiry.

This module knows nothing of people's names or records: it answers "which child, for whom, until when".
A later NHS login (OIDC) sign-in would create the same `Session` from a verified `sub` and birth date instead
of a code, and every page behind it would stay as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.db.my_story_tables import my_story_codes, my_story_sessions

YOUNG_PERSON = "young-person"
PARENT = "parental-responsibility"
HOLDERS = (YOUNG_PERSON, PARENT)
# No 0/O, 1/I/L, 5/S: a code is read aloud and copied from paper.
ALPHABET = "ABCDEFGHJKMNPQRTUVWXYZ2346789"
ID_LENGTH, SECRET_LENGTH = 4, 8

# Outcomes of a sign-in, as the audit log records them (hub.api.routes.my_story).
SIGNED_IN, WRONG, LOCKED, REFUSED, UNKNOWN = "success", "wrong", "locked", "refused", "unknown"


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, never stored
    code_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    code_id: str
    child_id: str
    holder: str
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to. `token` (the cookie value) only on success; `child_id` whenever the code
    was known (so the attempt can be audited against the child), never the secret or the date tried."""

    outcome: str
    code_id: str | None = None
    child_id: str | None = None
    holder: str | None = None
    failures: int = 0
    token: str | None = None
    session: Session | None = None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def normalise(code: str) -> str:
    """Spaces, dashes and case do not matter."""
    return "".join(c for c in code.upper() if c.isascii() and c.isalnum())


def issue(
    conn: Connection,
    child_id: str,
    holder: str,
    issued_by: str,
    organisation: str,
    role: str,
    now: datetime,
    valid_for: timedelta,
) -> IssuedCode:
    """A new code for `child_id`, to be shown once. Inside the caller's transaction (with its audit record)."""
    if holder not in HOLDERS:
        raise ValueError(f"holder must be one of {', '.join(HOLDERS)}")
    for _ in range(20):
        code_id, secret = _random(ID_LENGTH), _random(SECRET_LENGTH)
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(my_story_codes).values(
                        code_id=code_id,
                        secret_hash=_digest(f"{code_id}:{secret}"),
                        child_id=child_id,
                        holder=holder,
                        issued_by=issued_by,
                        issued_org=organisation,
                        issued_role=role,
                        issued_at=now,
                        expires_at=now + valid_for,
                        failures=0,
                    )
                )
        except IntegrityError:
            continue  # the id is taken: draw again
        code = f"{code_id}-{secret[:4]}-{secret[4:]}"
        return IssuedCode(code, code_id, now + valid_for)
    raise RuntimeError("could not find a free access code id")


def sign_in(
    conn: Connection,
    code: str,
    birth_date: date | None,
    birth_dates: Callable[[str], set[date]],
    now: datetime,
    *,
    max_tries: int,
    session_for: timedelta,
) -> SignIn:
    """Check a code and date of birth; on success use the code up and open a session. Inside the caller's
    transaction, which also appends the audit record of the attempt (so a lock and its record commit together).

    `birth_dates(child_id)` gives every date of birth the hub holds for the child (sources may disagree; any of
    them matches). A wrong secret or date counts against the code; at `max_tries` it locks (outcome LOCKED, once).
    """
    text = normalise(code)
    code_id, secret = text[:ID_LENGTH], text[ID_LENGTH:]
    row = conn.execute(select(my_story_codes).where(my_story_codes.c.code_id == code_id)).mappings().first()
    if row is None or len(text) != ID_LENGTH + SECRET_LENGTH:
        return SignIn(UNKNOWN, code_id=None)
    known = SignIn(REFUSED, code_id, row["child_id"], row["holder"], row["failures"])
    if row["locked_at"] is not None or row["used_at"] is not None or _utc(row["expires_at"]) <= now:
        return known
    right = hmac.compare_digest(row["secret_hash"], _digest(f"{code_id}:{secret}"))
    if not right or birth_date is None or birth_date not in birth_dates(row["child_id"]):
        failures = row["failures"] + 1
        locked = failures >= max_tries
        conn.execute(
            update(my_story_codes)
            .where(my_story_codes.c.code_id == code_id)
            .values(failures=failures, locked_at=now if locked else None)
        )
        return SignIn(LOCKED if locked else WRONG, code_id, row["child_id"], row["holder"], failures)
    used = conn.execute(
        update(my_story_codes)
        .where(my_story_codes.c.code_id == code_id, my_story_codes.c.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # two browsers raced with the same code: only one gets in
        return known
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session = Session(code_id, row["child_id"], row["holder"], csrf, now + session_for)
    conn.execute(
        insert(my_story_sessions).values(
            session_hash=_digest(token),
            code_id=code_id,
            child_id=row["child_id"],
            holder=row["holder"],
            csrf=csrf,
            created_at=now,
            expires_at=session.expires_at,
        )
    )
    return SignIn(SIGNED_IN, code_id, row["child_id"], row["holder"], row["failures"], token, session)


def session_of(conn: Connection, token: str | None, now: datetime) -> Session | None:
    """The live session a cookie value names, or None (unknown, ended or expired: sign in again)."""
    if not token:
        return None
    row = (
        conn.execute(select(my_story_sessions).where(my_story_sessions.c.session_hash == _digest(token)))
        .mappings()
        .first()
    )
    if row is None or row["ended_at"] is not None or _utc(row["expires_at"]) <= now:
        return None
    return Session(row["code_id"], row["child_id"], row["holder"], row["csrf"], _utc(row["expires_at"]))


def end_session(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(
        update(my_story_sessions)
        .where(my_story_sessions.c.session_hash == _digest(token), my_story_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf, sent)
