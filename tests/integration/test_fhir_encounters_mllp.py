"""Encounter status and class, end to end (issue 18, item 4): real HL7 v2 ADT over MLLP into a running hub
(`onestory up`: embedded broker, worker, SQLite), read back over the FHIR API as the child's GP.

The table: A01 (admit) is `in-progress`, A03 (discharge) is `finished`; PV1-2 E is `EMER`, I is `IMP`, O is
`AMB` (v3 ActCode). Before, every one of these was `finished` / `AMB`. The trust is the directory's acute
trust (RX1, ODS), so the Encounter's service provider carries its ODS code. Every resource read is validated
with the fhir.resources R4B models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

from connectors.hl7v2.mllp_client import ack_code, send_message
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.auth.tokens import issue_token, load_or_create_signing_key
from tests.support.hub_process import RunningHub, start_hub
from tests.support.story import GP

pytestmark = pytest.mark.integration
NHS = "9434765927"
TRUST = "RX1"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# (trigger, PV1-2) -> (status, class); each case its own visit, admitted on its own day.
TABLE = {
    ("A01", "E"): ("in-progress", "EMER"),
    ("A01", "I"): ("in-progress", "IMP"),
    ("A01", "O"): ("in-progress", "AMB"),
    ("A03", "E"): ("finished", "EMER"),
    ("A03", "I"): ("finished", "IMP"),
    ("A03", "O"): ("finished", "AMB"),
}


def adt(trigger: str, msh4: str, control: str, pv1_2: str = "", admitted: str = "", discharged: str = "") -> bytes:
    segments = [
        f"MSH|^~\\&|PAS|{msh4}|ONESTORY|HUB|20260901090000||ADT^{trigger}|{control}|P|2.4",
        f"EVN|{trigger}|20260901090000",
        f"PID|1||{NHS}^^^NHS^NH~H{NHS[-4:]}^^^{msh4}^MR||Okafor^Tobi||20120514|M|||1 Mill Lane^^Northshire^^NS1 1AA",
        f"PV1|1|{pv1_2}|Ward 4^Bay 2^Bed 1|||||||PAE|||||||||V{control}"  # PV1-2 patient class, PV1-19 visit
        + "|" * 25
        + f"{admitted}|{discharged}",  # PV1-44 admitted, PV1-45 discharged
    ]
    return "\r".join(segments).encode()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    tmp: Path = tmp_path_factory.mktemp("fhir-encounters")
    running = start_hub(tmp / "var", f"sqlite:///{tmp / 'onestory.db'}")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def gp_token(hub: RunningHub) -> str:
    return issue_token(
        load_or_create_signing_key(hub.data_dir),
        user="u-gp",
        organisation=GP,
        role="gp",
        purpose="direct-care",
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )


def fhir(hub: RunningHub, path: str, **params: Any) -> dict[str, Any]:
    reply = httpx.get(hub.api + path, params=params, headers={"Authorization": f"Bearer {gp_token(hub)}"}, timeout=15)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def test_admissions_and_discharges_over_mllp_read_back_with_their_status_and_class(hub: RunningHub) -> None:
    registered = adt("A28", GP, "REG1")  # the GP's registration: the child's GP is the reader below
    assert ack_code(send_message(hub.mllp_host, hub.mllp_port, registered, timeout=30)) == "AA"
    day = {case: f"202609{n + 2:02d}" for n, case in enumerate(TABLE)}
    for n, (trigger, pv1_2) in enumerate(TABLE):
        admitted = day[(trigger, pv1_2)] + "1000"
        discharged = day[(trigger, pv1_2)] + "1600" if trigger == "A03" else ""
        message = adt(trigger, TRUST, f"ENC{n}", pv1_2, admitted, discharged)
        assert ack_code(send_message(hub.mllp_host, hub.mllp_port, message, timeout=30)) == "AA", (trigger, pv1_2)

    deadline = time.monotonic() + 60
    encounters: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = fhir(hub, "/fhir/Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{NHS}")
        if found["total"]:
            child = found["entry"][0]["resource"]["id"]
            bundle = fhir(hub, "/fhir/Encounter", patient=child, _count=50)
            encounters = [e["resource"] for e in bundle.get("entry", [])]
            if len(encounters) == len(TABLE):
                break
        time.sleep(0.3)
    assert len(encounters) == len(TABLE), encounters

    assert all(e["meta"]["tag"][0]["code"] == "full" for e in encounters)  # the GP sees the trust's contacts
    by_day = {}
    for encounter in encounters:
        get_fhir_model_class("Encounter").model_validate(encounter)
        moment = encounter["period"].get("start") or encounter["period"]["end"]
        by_day[datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y%m%d")] = encounter
    for case, (status, klass) in TABLE.items():
        encounter = by_day[day[case]]
        assert (encounter["status"], encounter["class"]) == (status, {"system": ACT, "code": klass}), case
        assert encounter["meta"]["profile"] == ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter"]
        assert encounter["serviceProvider"]["identifier"] == {"system": ODS, "value": TRUST}  # ODS, name as display
        assert encounter["period"]["start"].startswith(f"{day[case][:4]}-{day[case][4:6]}-{day[case][6:]}")
        if case[0] == "A03":
            assert encounter["period"]["end"].startswith(f"{day[case][:4]}-{day[case][4:6]}-{day[case][6:]}")
