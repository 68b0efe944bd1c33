"""Request dependencies: the context, the authenticated principal, a database connection."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.api.context import ApiContext
from hub.auth.roles import known_roles
from hub.auth.tokens import AuthError, Principal, require_known


async def context(request: Request) -> ApiContext:  # async: no thread hop for a lookup
    ctx: ApiContext = request.app.state.ctx
    return ctx


def principal(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Principal:
    """A valid token for a role in the policy and an organisation in the directory; else 401 (AuthError)."""
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
