"""Identity review for data stewards: the review queue, decisions, merges and unmerges.

Only the data-steward role may use these (403 otherwise, 401 without a token). Every read and decision is
audited in the same transaction as the change, before the response leaves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from hub.api.deps import ClientAddress, Ctx, DataSteward
from hub.read import identity_reviews
from projections.identity import review
from projections.identity.merging import IdentityError
from projections.identity.reproject import Reprojector

router = APIRouter(prefix="/identity", tags=["identity"])


def steward(who: DataSteward, client: ClientAddress) -> review.Steward:
    """The data steward deciding, as the audit log records them (other roles: 403, from DataSteward)."""
    return review.Steward(who.user, who.organisation, who.role, who.purpose, client)


Steward = Annotated[review.Steward, Depends(steward)]


def reprojector(ctx: Ctx) -> Reprojector:
    """Merges re-derive both children's projections with the policy the API already runs."""
    return Reprojector.with_bundled_rules(ctx.codec, ctx.policy)


Reproject = Annotated[Reprojector, Depends(reprojector)]


class DecisionIn(BaseModel):
    decision: Literal["link", "not-same"]
    reason: str = Field(min_length=1, max_length=2000)


class UnmergeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _refuse(exc: IdentityError) -> HTTPException:
    if isinstance(exc, review.ReviewNotFound) or str(exc) in ("unknown merge", "unknown child"):
        return HTTPException(404, str(exc))
    return HTTPException(409, str(exc))


@router.get("/review")
def review_queue(
    ctx: Ctx,
    who: Steward,
    status: Literal["open", "linked", "not-same"] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        items = identity_reviews.review_queue(conn, who, datetime.now(UTC), status=status, limit=limit)
    return {"status": status, "items": items}


@router.post("/review/{review_id}")
def decide(review_id: str, body: DecisionIn, ctx: Ctx, who: Steward, again: Reproject) -> dict[str, Any]:
    try:
        with ctx.engine.begin() as conn:
            return review.decide(conn, review_id, body.decision, who, body.reason, datetime.now(UTC), again)
    except IdentityError as exc:
        raise _refuse(exc) from exc


@router.get("/merges")
def merges(ctx: Ctx, who: Steward, child_id: str | None = None, status: str | None = None) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        return {"items": review.list_merges(conn, child_id, status)}


@router.post("/merges/{merge_id}/unmerge")
def unmerge(merge_id: str, body: UnmergeIn, ctx: Ctx, who: Steward, again: Reproject) -> dict[str, Any]:
    try:
        with ctx.engine.begin() as conn:
            return review.undo_merge(conn, merge_id, who, body.reason, datetime.now(UTC), again)
    except IdentityError as exc:
        raise _refuse(exc) from exc
