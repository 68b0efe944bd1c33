"""SMART patient access as dependencies: the scopes that let a token read one child, or a 403 on the access log.

`require_patient` (hub.auth.smart) asks for a clinical purpose of use, a read scope, and for a patient/* token
the child in its context; `resource_type` narrows it to the scopes naming that type. A refusal is recorded
(action deny, metadata only) and committed before the 403 leaves.

Routes whose own 400s come first (a missing or malformed search parameter) call `allow` from the route instead
of declaring the dependency, so that a bad request is still answered 400 whoever sends it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from hub.api.audited import record, refuse
from hub.api.context import ApiContext
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.audit.log import DENY
from hub.auth import smart
from hub.auth.tokens import Principal


def allow(
    ctx: ApiContext,
    viewer: Principal,
    client: str | None,
    child_id: str,
    query: str,
    resource_type: str | None = None,
) -> list[smart.Scope]:
    """The usable scopes for this child, or 403, audited as a denial (metadata only)."""
    try:
        scopes = smart.require_patient(viewer, child_id)
        if resource_type is not None:
            smart.require_type(scopes, resource_type)
        return scopes
    except HTTPException as refusal:
        refuse(ctx, record(viewer, client, DENY, "denied", child_id=child_id, query=query), refusal)


def clinical_reader(viewer: Viewer) -> list[smart.Scope]:
    """A clinical purpose of use and at least one read scope, before any child is named (search by identifier);
    else 403, not audited: no child is named yet."""
    smart.require_clinical_purpose(viewer)
    scopes = smart.read_scopes(viewer)
    if not scopes:
        raise HTTPException(403, "the token has no read scope")
    return scopes


ClinicalReader = Annotated[list[smart.Scope], Depends(clinical_reader)]


def patient_param(patient: str) -> str:
    """`?patient=` as a child id (a `Patient/` prefix is accepted)."""
    return patient.removeprefix("Patient/")


class PatientRead:
    """Dependency: the child is the path's `child_id`; `query` is what the denial records."""

    def __init__(self, query: str, resource_type: str | None = None) -> None:
        self.query = query
        self.resource_type = resource_type

    def __call__(self, child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> list[smart.Scope]:
        return allow(ctx, viewer, client, child_id, self.query, self.resource_type)


class PatientQueryRead(PatientRead):
    """Dependency: the child is the required `?patient=` query parameter."""

    def __call__(
        self, child_id: Annotated[str, Depends(patient_param)], ctx: Ctx, viewer: Viewer, client: ClientAddress
    ) -> list[smart.Scope]:
        return allow(ctx, viewer, client, child_id, self.query, self.resource_type)
