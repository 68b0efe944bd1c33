"""POST /intake/fhir: a FHIR R4 resource or Bundle from a health system, published as canonical events."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch, check_organisation
from connectors.fhir.map import map_request
from hub.api.routes.intake_common import BODY_SETTING, IntakePublisher, Limits, Sender, intake, read_body

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/fhir")
async def intake_fhir(
    request: Request, sender: Sender, pub: IntakePublisher, limits: Limits, organisation: str | None = None
) -> JSONResponse:
    """All or nothing per request; `organisation` (ODS code), if given, must be the token's (else 403)."""
    body = await read_body(request, limits.max_body_bytes, BODY_SETTING)
    org = sender.organisation

    def produce(now: datetime) -> Batch:
        check_organisation(organisation, org, "organisation")
        return map_request(body.data, org, now, system="fhir-api")

    content_type = f"application/fhir+json; org={org}"
    return await intake(pub, "fhir", body, content_type, produce, limits, is_json=True, atomic=True)
