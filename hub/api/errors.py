"""Errors as FHIR OperationOutcomes under /fhir and problem documents elsewhere; 401 vs 403 kept distinct."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.auth.tokens import AuthError

FHIR_JSON = "application/fhir+json"


def operation_outcome(status: int, code: str, diagnostics: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def problem(request: Request, status: int, code: str, detail: str) -> JSONResponse:
    if request.url.path.startswith("/fhir"):
        return operation_outcome(status, code, detail)
    return JSONResponse(
        {"status": status, "code": code, "detail": detail}, status_code=status, media_type="application/problem+json"
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        response = problem(request, 401, "login", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {403: "forbidden", 404: "not-found", 405: "not-supported", 406: "not-supported"}
        return problem(request, exc.status_code, codes.get(exc.status_code, "processing"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors())
        return problem(request, 400, "invalid", where)
