"""Configuration and connection failures as one or two lines for the operator: what is wrong, how to fix it.

`onestory` (hub.cli) turns these exception types into a message and exit code 2; `onestory --debug` shows the
traceback instead. The list is deliberately precise: anything not named here is a bug in OneStory, and keeps
its traceback. Messages never carry a password (URLs are rendered with the password hidden) nor record
content: they come from connection, file-system and settings errors only.
"""

from __future__ import annotations

import re
from typing import Any

DEBUG_HINT = "run `onestory --debug ...` for the traceback"
_URL = re.compile(r"\b[a-zA-Z][\w+.-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"(://[^/:@\s]*):[^@/\s]*@")


def hide_passwords(text: str) -> str:
    """Every URL in `text` with its password replaced by ***, as SQLAlchemy's hide_password renders it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    def hidden(match: re.Match[str]) -> str:
        try:
            return make_url(match.group(0)).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            return _USERINFO.sub(r"\1:***@", match.group(0))

    return _USERINFO.sub(r"\1:***@", _URL.sub(hidden, text))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return hide_passwords(lines[0]) if lines else type(exc).__name__


def _database(exc: Any) -> tuple[str, str]:
    reason = _first_line(exc.orig) if getattr(exc, "orig", None) is not None else _first_line(exc)
    return (
        f"cannot use the database: {reason}",
        "check --database (or ONESTORY_DATABASE) and that the database server is running and reachable",
    )


def _settings(exc: Any) -> tuple[str, str]:
    # include_input=False: a rejected value may be a URL with a password in it.
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors(include_input=False)
    )
    return f"invalid setting: {problems}", "check the option or its ONESTORY_* environment variable"


def explain(exc: BaseException) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) for a known configuration or connection failure; None for anything else."""
    import pydantic
    from confluent_kafka import KafkaException
    from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

    from consent_engine.directory import DirectoryError
    from consent_engine.policy_spec import PolicyError
    from hub.auth.tokens import AuthError

    if isinstance(exc, OperationalError | InterfaceError):
        return _database(exc)
    if isinstance(exc, ArgumentError):
        return (
            f"the database URL is not usable: {_first_line(exc)}",
            "give --database as dialect+driver://user@host:port/db",
        )
    if isinstance(exc, KafkaException):
        return (
            f"Kafka: {_first_line(exc)}",
            "check --kafka HOST:PORT (or ONESTORY_KAFKA) and that the broker is running",
        )
    if isinstance(exc, ConnectionError):
        reason = _first_line(exc)
        if "kafka" in reason.lower():
            return reason, "check --kafka HOST:PORT (or ONESTORY_KAFKA) and that the broker is running"
        return f"cannot connect: {reason}", "check the address and that the service is running"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        where = exc.filename or _first_line(exc)
        return f"no such file or directory: {where}", "check the path (--data-dir, --policy, --directory, ...)"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or _first_line(exc)}", "check the path's owner and permissions"
    if isinstance(exc, TimeoutError):
        return f"timed out: {_first_line(exc)}", "check that every service the hub needs is up, or allow more time"
    if isinstance(exc, pydantic.ValidationError) and exc.title.endswith("Settings"):
        return _settings(exc)
    if isinstance(exc, PolicyError | DirectoryError):
        return (
            f"the policy or directory is not usable: {_first_line(exc)}",
            "`onestory policy check` lists every problem",
        )
    if isinstance(exc, AuthError):
        return f"signing key: {_first_line(exc)}", "check the --data-dir holds the hub's keys/signing-key.pem"
    return None
