"""Bad input on every HTTP intake endpoint of a running hub: limits, dead letters, and never a 5xx.

For each of the five endpoints (FHIR, education, social care, VCSE and the public self-referral form), over real
HTTP against `onestory up`: 1,000 nested arrays are refused naming the depth limit, a 5 MB string is refused,
a 19 MB body gets 413 (and so does one sent chunked, without Content-Length), and each is kept in the
dead-letter store, an oversized one as its first max-body bytes with its true size in the reason. Then
hypothesis throws generated bodies at each endpoint (JSON of every shape and type, deep nesting, huge
strings, invalid UTF-8, CSV, random bytes): no answer is ever a 5xx, and every refusal has the documented
shape (docs/events.md, "Limits on HTTP intake"). One hub per database backend for the whole module.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from hub.db.engine import make_engine
from hub.db.tables import deadletters
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.integration.connectors_helpers import wait_for
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
MB = 1024 * 1024
EXPORT_LIMIT, FORM_LIMIT = 10 * MB, 256 * 1024  # the defaults of ONESTORY_INTAKE_MAX_BODY_BYTES and the form's
NHS = "9434765870"
PERSONAL = "Okafor-9434765870-"  # repeated to make the huge strings: must never come back in an answer


@dataclass(frozen=True)
class Endpoint:
    path: str
    connector: str
    org: str | None  # the sending organisation's system token; None: public
    max_body: int
    csv_path: str | None  # the CSV flavour of the endpoint, if it takes CSV
    big: dict[str, Any]  # a plausible document; its "<BIG>" string is replaced by a 5 MB one


ENDPOINTS = [
    Endpoint(
        "/intake/fhir",
        "fhir",
        "RX1",
        EXPORT_LIMIT,
        None,
        {
            "resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}],
            "name": [{"family": "<BIG>", "given": ["Amara"]}],
        },
    ),
    Endpoint(
        "/intake/education",
        "education",
        "100001",
        EXPORT_LIMIT,
        "/intake/education?type=pupils",
        {"pupils": [{"upn": "B801200005001", "surname": "<BIG>", "forename": "Amara", "dob": "2011-03-04"}]},
    ),
    Endpoint(
        "/intake/social-care",
        "social_care",
        "990",
        EXPORT_LIMIT,
        "/intake/social-care?format=ssda903-header",
        {"la_code": "990", "records": [{"type": "contact", "id": "c1", "nhs_number": NHS, "summary": "<BIG>"}]},
    ),
    Endpoint(
        "/intake/vcse",
        "vcse",
        "VCSE01",
        EXPORT_LIMIT,
        None,
        {"organisation": "VCSE01", "records": [{"type": "session", "id": "s1", "client_id": "k1", "notes": "<BIG>"}]},
    ),
    Endpoint(
        "/intake/self-referral",
        "self_referral",
        None,
        FORM_LIMIT,
        None,
        {"requester": "young-person", "given_name": "Amara", "family_name": "<BIG>", "areas": ["worry"]},
    ),
]
IDS = [e.connector for e in ENDPOINTS]


@dataclass
class Hub:
    process: RunningHub
    engine: Engine
    client: httpx.Client
    tokens: dict[str, str]

    def post(self, ep: Endpoint, body: Any, content_type: str = "application/json", path: str | None = None) -> Any:
        headers = {"Content-Type": content_type}
        if ep.org is not None:
            headers["Authorization"] = f"Bearer {self.tokens[ep.org]}"
        return self.client.post(self.process.api + (path or ep.path), content=body, headers=headers)

    def kept(self, connector: str, reason_part: str, timeout: float = 30.0) -> Any:
        """The dead letter of `connector` whose reason says `reason_part` (the store may be fed asynchronously)."""

        def probe() -> Any:
            with self.engine.connect() as conn:
                rows = conn.execute(select(deadletters).where(deadletters.c.connector == connector)).all()
            return next((r for r in rows if reason_part in r.reason), None)

        return wait_for(probe, timeout, f"a {connector} dead letter saying {reason_part!r}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    pg_name = _create_pg_database() if request.param == "postgresql" else None
    url = f"postgresql+psycopg://root@127.0.0.1:5432/{pg_name}" if pg_name else f"sqlite:///{folder / 'onestory.db'}"
    process = start_hub(folder / "var", url)
    engine = make_engine(url)
    client = httpx.Client(timeout=120)
    tokens = {e.org: process.token(user=f"{e.connector}-system", org=e.org, role="system") for e in ENDPOINTS if e.org}
    try:
        yield Hub(process, engine, client, tokens)
    finally:
        client.close()
        engine.dispose()
        if process.process.poll() is None:
            process.stop()
        if pg_name:
            _drop_pg_database(pg_name)


def errors_of(reply: httpx.Response) -> list[str]:
    """What the sender is told is wrong, from whichever documented shape the reply has (asserting that shape)."""
    assert reply.status_code < 500, (reply.status_code, reply.text[:500])
    body = reply.json()
    if body.get("resourceType") == "OperationOutcome":
        assert reply.headers["content-type"].startswith("application/fhir+json")
        errors = [i for i in body["issue"] if i["severity"] == "error"]
        assert errors, body
        for issue in errors:
            assert isinstance(issue["code"], str) and issue["code"] and isinstance(issue["diagnostics"], str)
        if any(i["code"] in ("too-costly", "exception") for i in errors):  # over a limit, or unforeseen: kept
            assert any("dead letter" in i["diagnostics"] or "could not keep" in i["diagnostics"] for i in body["issue"])
        return [i["diagnostics"] for i in errors]
    if "status" in body:  # problem JSON (the form's kept refusals add `errors` for the page)
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == reply.status_code and isinstance(body["code"], str)
        assert isinstance(body["detail"], str) and body["detail"]
        for error in body.get("errors", []):
            assert isinstance(error["field"], str) and isinstance(error["message"], str)
        return [body["detail"]]
    # the form's field problems, shown next to each field
    assert body["errors"], body
    for error in body["errors"]:
        assert isinstance(error["field"], str) and isinstance(error["message"], str) and error["message"]
    return [e["message"] for e in body["errors"]]


def kept_id(reply: httpx.Response) -> str | None:
    found = re.search(r"dead letter ([0-9a-f-]{36})", reply.text)
    return found[1] if found else None


def big_document(ep: Endpoint, size: int) -> bytes:
    text = json.dumps(ep.big)
    filler = (PERSONAL * (size // len(PERSONAL) + 1))[:size]
    return text.replace("<BIG>", filler).encode()


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_nested_arrays_are_refused_naming_the_depth_limit_and_kept(hub: Hub, ep: Endpoint) -> None:
    body = b"[" * 1000 + b"]" * 1000  # 2,000 bytes: a RecursionError and a 500 before the limits
    reply = hub.post(ep, body)
    assert reply.status_code == 422
    told = " ".join(errors_of(reply))
    assert "nests" in told and "64" in told and "ONESTORY_INTAKE_MAX_JSON_DEPTH" in told
    row = hub.kept(ep.connector, "JSON nesting depth limit")
    assert row.phase == "limit" and row.body == body
    assert kept_id(reply) in (None, row.id)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_a_5mb_string_is_refused_and_kept(hub: Hub, ep: Endpoint) -> None:
    body = big_document(ep, 5 * MB)
    reply = hub.post(ep, body, "application/fhir+json" if ep.connector == "fhir" else "application/json")
    told = " ".join(errors_of(reply))
    assert PERSONAL not in reply.text
    if len(body) > ep.max_body:  # the form: the body itself is over its far smaller limit
        assert reply.status_code == 413 and "ONESTORY_SELF_REFERRAL_MAX_BODY_BYTES" in told
        row = hub.kept(ep.connector, f"{len(body):,} bytes")
        assert row.body == body[: ep.max_body]
    else:
        assert reply.status_code == 422 and "ONESTORY_INTAKE_MAX_STRING_BYTES" in told
        row = hub.kept(ep.connector, "JSON string length limit")
        assert row.body == body
    assert row.phase == "limit"


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_a_19mb_body_is_413_and_its_first_max_body_bytes_kept(hub: Hub, ep: Endpoint) -> None:
    body = b"{" + ep.connector.encode() * (19_000_000 // len(ep.connector)) + b"}"  # not even JSON
    reply = hub.post(ep, body)
    assert reply.status_code == 413
    told = " ".join(errors_of(reply))
    setting = "ONESTORY_SELF_REFERRAL_MAX_BODY_BYTES" if ep.org is None else "ONESTORY_INTAKE_MAX_BODY_BYTES"
    assert setting in told and "larger than" in told
    row = hub.kept(ep.connector, f"{len(body):,} bytes (Content-Length)")
    assert row.phase == "limit" and row.body == body[: ep.max_body]


@pytest.mark.parametrize("ep", [ENDPOINTS[0], ENDPOINTS[-1]], ids=["fhir", "self_referral"])
def test_a_chunked_body_without_content_length_is_cut_at_the_limit(hub: Hub, ep: Endpoint) -> None:
    chunk = b"x" * MB

    def chunks() -> Iterator[bytes]:
        yield b'{"chunked": "'
        for _ in range(12):
            yield chunk
        yield b'"}'

    reply = hub.post(ep, chunks())
    assert reply.status_code == 413 and reply.request.headers.get("transfer-encoding") == "chunked"
    errors_of(reply)
    sent = 12 * MB + len(b'{"chunked": "') + 2
    row = hub.kept(ep.connector, f"{sent:,} bytes sent")  # read to the end (drained), so its size is known
    assert len(row.body) == ep.max_body and row.body.startswith(b'{"chunked": "')


def test_a_2gb_upload_is_answered_after_the_limit_without_reading_the_rest(hub: Hub) -> None:
    """Content-Length says 2 GB: the hub keeps the first 10 MB, answers 413 and never waits for the rest."""
    ep = ENDPOINTS[0]
    host, port = hub.process.api.removeprefix("http://").split(":")
    head = (
        f"POST {ep.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/fhir+json\r\n"
        f"Authorization: Bearer {hub.tokens['RX1']}\r\nContent-Length: 2000000000\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        with contextlib.suppress(OSError):  # the hub may stop reading (and close) once it has answered
            while sent < EXPORT_LIMIT + 4 * MB:
                sock.sendall(b"7" * MB)
                sent += MB
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in answer:
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 30
    row = hub.kept(ep.connector, "2,000,000,000 bytes (Content-Length)")
    assert row.phase == "limit" and row.body == b"7" * EXPORT_LIMIT


# Generated bodies --------------------------------------------------------------------------------------------

KEYS = [
    "resourceType", "id", "identifier", "system", "value", "name", "family", "given", "birthDate", "entry",
    "resource", "fullUrl", "type", "subject", "reference", "status", "records", "consents", "competence",
    "la_code", "organisation", "nhs_number", "upn", "la_child_id", "client_id", "date", "consent_id",
    "lawful_basis", "decided_by", "basis_reason", "pupils", "attendance", "exclusions", "sen", "concerns",
    "requester", "given_name", "family_name", "birth_date", "areas", "may_tell", "do_not_tell", "help_wanted",
    "contact_method", "contact_value", "postcode", "submission_id",
]  # fmt: skip
VALUES = [
    "Patient", "Bundle", "transaction", "collection", "Observation", "Consent", "Encounter", "session",
    "referral", "contact", "young-person", "parent", "gp", "school", "worry", NHS, "B801200005001", "2011-03-04",
    "Patient/1", "urn:uuid:1", "https://fhir.nhs.uk/Id/nhs-number", "", " ",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(VALUES)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)
# Known keys with values of any type: the wrong-type cases a careless sender produces.
typed = st.dictionaries(st.sampled_from(KEYS), json_values, min_size=1, max_size=8)
deep = st.builds(
    lambda n, opener, closer: opener * n + b"1" + closer * n,
    st.integers(50, 5000),
    st.sampled_from([b"[", b'{"entry":[']),
    st.sampled_from([b"]", b"]}", b""]),
)
huge = st.builds(
    lambda key, n, nest: json.dumps({"resourceType": "Patient", key: [{"family": "x" * n}] if nest else "y" * n}),
    st.sampled_from(KEYS),
    st.integers(500_000, 1_500_000),
    st.booleans(),
).map(str.encode)
invalid_utf8 = st.builds(
    lambda doc, junk, at: (lambda b: b[: at % (len(b) + 1)] + junk + b[at % (len(b) + 1) :])(json.dumps(doc).encode()),
    typed | json_values,
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x00", b"\xef\xbb\xbf"]),
    st.integers(0, 10_000),
)
cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=15) | st.sampled_from(
    VALUES + ["01/01/2010", "UN1", '"quoted, comma"', "[" * 200]
)
csv_text = st.builds(
    lambda header, rows, eol: eol.join(",".join(r) for r in [header, *rows]).encode(),
    st.lists(st.sampled_from(["UPN", "CHILD", "Surname", "DOB", "SEX", "Basis", "Reason", "Status"]) | cell, min_size=1,
             max_size=6),
    st.lists(st.lists(cell, max_size=7), max_size=6),
    st.sampled_from(["\r\n", "\n", "\r"]),
)  # fmt: skip
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    typed.map(lambda v: json.dumps(v).encode()),
    deep,
    huge,
    invalid_utf8,
    csv_text,
    st.binary(min_size=1, max_size=300),
)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, as_csv=st.booleans())
def test_generated_bodies_never_get_a_5xx_and_every_refusal_has_its_shape(
    hub: Hub, ep: Endpoint, body: bytes, as_csv: bool
) -> None:
    if as_csv and ep.csv_path:
        reply = hub.post(ep, body, "text/csv", ep.csv_path)
    else:
        reply = hub.post(ep, body, "application/fhir+json" if ep.connector == "fhir" else "application/json")
    event(f"HTTP {reply.status_code}")  # --hypothesis-show-statistics: how the hub answered
    if not reply.is_success:
        errors_of(reply)
