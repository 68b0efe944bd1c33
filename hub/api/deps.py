"""Request dependencies: the context, the authenticated principal, a database connection, and who may call what.

Role and purpose checks live here as dependencies, so a route names who may call it in its signature
(`officer: IgOfficer`) instead of branching on the token in its body. A refused call is a 403 before the route
runs; where the refusal itself must be on the access log (the IG API), it is committed before the 403 leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from hub.api.audited import record, refuse
from hub.api.context import ApiContext
from hub.audit.log import DENY
from hub.auth.roles import STEWARD_ROLE, known_roles
from hub.auth.tokens import AUDIT_PURPOSE, AuthError, Principal, require_known

SYSTEM_ROLE = "system"
IG_ROLE = "ig-officer"


async def context(request: Request) -> ApiContext:  # async: no thread hop for a lookup
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def principal(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Principal:
    """A valid token for a role in the policy and an organisation in the directory; else 401 (AuthError).

    async: checking a token is CPU only (and usually a cache hit, hub.auth.tokens), so it runs on the event loop
    instead of costing every request a hop to the thread pool and back.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("a Bearer token is required")
    return require_known(ctx.verifier.verify(token.strip()), known_roles(ctx.policy), ctx.policy.organisations)


async def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


Ctx = Annotated[ApiContext, Depends(context)]
Viewer = Annotated[Principal, Depends(principal)]
ClientAddress = Annotated[str | None, Depends(client_address)]


def require(
    role: str,
    refusal: str,
    *,
    purpose: str | None = None,
    purpose_refusal: str = "",
    audit_refusal: bool = False,
) -> Callable[..., Principal]:
    """A dependency that passes the principal on if its token has `role` (and `purpose`, if given); else 403.

    `purpose_refusal` may name the purpose wanted (`{wanted}`) and the token's own (`{purpose}`). With
    `audit_refusal`, a refusal is recorded (action deny, query `ig:<path>`) and committed before the 403 leaves.
    """

    def check(request: Request, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> Principal:
        why = None
        if viewer.role != role:
            why = refusal
        elif purpose is not None and viewer.purpose != purpose:
            why = purpose_refusal.format(wanted=purpose, purpose=viewer.purpose)
        if why is None:
            return viewer
        if audit_refusal:
            refuse(ctx, record(viewer, client, DENY, "denied", query=f"ig:{request.url.path}"), HTTPException(403, why))
        raise HTTPException(403, why)

    check.__name__ = f"require_{role.replace('-', '_')}"
    return check


# Only system tokens publish; a person's token (even a practitioner's) cannot push data in.
SystemSender = Annotated[
    Principal,
    Depends(require(SYSTEM_ROLE, "intake needs a system token (role=system) bound to the sending organisation")),
]
# Identity review: the data-steward role, whatever the purpose.
DataSteward = Annotated[Principal, Depends(require(STEWARD_ROLE, "identity review needs the data-steward role"))]
# IG officers acting for the audit purpose only: an IG officer's token minted for direct care must not open the
# access log. Refusals are audited.
IgOfficer = Annotated[
    Principal,
    Depends(
        require(
            IG_ROLE,
            "not permitted",
            purpose=AUDIT_PURPOSE,
            purpose_refusal="the IG API needs a token with purpose '{wanted}'; this token's purpose is '{purpose}'",
            audit_refusal=True,
        )
    ),
]
