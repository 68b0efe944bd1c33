"""No audit, no data: every read answers through `audited`, which commits the access record first.

A route builds its answer (a response or a JSON-ready body) and the record of the access (`record`), then hands
both here: the record goes through the access log's group commit (hub.audit.group_commit) and only once it has
committed is the answer handed back. If the record cannot be committed the caller gets the exception, so a 500
and no data. A refusal goes through `refuse`: its record committed, then the 403 raised.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from fastapi import HTTPException

from hub.api.context import ApiContext
from hub.audit.group_commit import FollowUp, writer_for
from hub.audit.log import AuditRecord
from hub.auth.tokens import Principal

Answer = TypeVar("Answer")


def record(
    who: Principal,
    client: str | None,
    action: str,
    outcome: str,
    *,
    child_id: str | None = None,
    query: str | None = None,
    **optional: Any,
) -> AuditRecord:
    """The access record of `who` (user, organisation, role, purpose) from `client`; metadata only, no content."""
    return AuditRecord(
        action=action,
        outcome=outcome,
        user_id=who.user,
        organisation=who.organisation,
        role=who.role,
        purpose=who.purpose,
        child_id=child_id,
        query=query,
        client_address=client,
        **optional,
    )


def audited(
    ctx: ApiContext, access: AuditRecord, answer: Answer | HTTPException, then: FollowUp | None = None
) -> Answer:
    """Commit `access` (and `then`, in the same transaction), then return `answer`, or raise it if it is a refusal."""
    writer_for(ctx.engine).append(access, then)
    if isinstance(answer, HTTPException):
        raise answer
    return answer


def refuse(ctx: ApiContext, denial: AuditRecord, refusal: HTTPException) -> NoReturn:
    """Commit the record of a refused access, then raise the refusal."""
    writer_for(ctx.engine).append(denial)
    raise refusal
