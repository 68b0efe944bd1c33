"""One story through the real interfaces (issue 15): what each viewer sees of four children, entry by entry.

Every input goes in the way its agency sends it (HL7 v2 over a real MLLP socket, FHIR and JSON over HTTP intake
with the sender's system token, school exports through the drop folder, the public self-referral form); every
read goes through the timeline API with a practitioner's token. Nothing here builds a consent record or an
entry: the stories are bytes (hub/region/story.py), so a consent, competence or lawful basis that an interface
cannot carry cannot reach the assertions. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.region import story as s
from hub.region.deliver import Hub, Outcome, deliver
from tests.integration.connectors_helpers import engine_for, wait_for_deadletters
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration

# Who reads, as (role, organisation, purpose); every role in the default policy.
VIEWERS: dict[str, tuple[str, str, str]] = {
    "gp": ("gp", s.GP_AMARA, "direct-care"),
    "camhs": ("camhs-clinician", s.CAMHS, "direct-care"),
    "school-nurse": ("school-nurse", s.SCHOOL_NURSING, "direct-care"),
    "clinic-nurse": ("school-nurse", s.SEXUAL_HEALTH, "direct-care"),
    "dsl": ("school-dsl", s.SCHOOL_AMARA, "direct-care"),
    "dsl-safeguarding": ("school-dsl", s.SCHOOL_AMARA, "safeguarding"),
    "teacher": ("teacher", s.SCHOOL_AMARA, "direct-care"),
    "social-worker": ("social-worker", s.COUNCIL, "direct-care"),
    "social-worker-safeguarding": ("social-worker", s.COUNCIL, "safeguarding"),
    "vcse": ("vcse-worker", s.VCSE, "direct-care"),
    "ig": ("ig-officer", "ONESTORY", "audit"),
    "system": ("system", "ONESTORY", "audit"),
}


# The self-referral form answers with its event ids in this order (its receipt page names no kinds).
FORM_KINDS = ("self-referral.submitted", "consent.given", "consent.refused")


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[RunningHub]:
    running = start_hub(tmp_path / "var", database_url, ["--education-drop", str(tmp_path / "drop")])
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


class Region:
    """The running hub as its senders and readers reach it."""

    def __init__(self, hub: RunningHub, drop: Path) -> None:
        self.hub = hub
        self.key = load_or_create_signing_key(hub.data_dir)
        self.senders = Hub(hub.api, (hub.mllp_host, hub.mllp_port), self._system_token, drop)
        self.client = httpx.Client(timeout=30)
        self.names: dict[str, str] = {}  # event id -> story name

    def _system_token(self, org: str) -> str:
        return self.token("system", org, "audit", user=f"{org}-system")

    def token(self, role: str, org: str, purpose: str, user: str | None = None) -> str:
        now = datetime.now(UTC)
        return issue_token(
            self.key,
            user=user or f"u-{role}",
            organisation=org,
            role=role,
            purpose=purpose,
            now=now,
            ttl=timedelta(hours=1),
        )

    def send(self, delivery: s.Delivery, name: str, via_drop: bool = False) -> Outcome:
        outcome = deliver(self.senders, delivery, self.client, via_drop=via_drop)
        for i, (event_id, kind) in enumerate(outcome.events):
            self.names[event_id] = f"{name}:{delivery.tag or delivery.org}:{kind or FORM_KINDS[i]}"
        return outcome

    def child_id(self, nhs: str, org: str, role: str = "gp", within: float = 20) -> str:
        token = self.token(role, org, "direct-care")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            bundle = self.client.get(
                f"{self.hub.api}/fhir/Patient",
                params={"identifier": f"https://fhir.nhs.uk/Id/nhs-number|{nhs}"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            if bundle.get("total"):
                return str(bundle["entry"][0]["resource"]["id"])
            time.sleep(0.1)
        raise AssertionError(f"the child never appeared for {org}")

    def timeline(self, child_id: str, viewer: tuple[str, str, str]) -> dict[str, Any]:
        role, org, purpose = viewer
        reply = self.client.get(
            f"{self.hub.api}/api/children/{child_id}/timeline",
            headers={"Authorization": f"Bearer {self.token(role, org, purpose)}"},
        )
        if reply.status_code == 404:
            return {"entries": [], "updating": False}
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body

    def levels(self, child_id: str, viewer: str | tuple[str, str, str]) -> dict[str, str]:
        """Story name -> level; entries not named by an HTTP intake reply (MLLP, drop folder) by their source."""
        out = {}
        for e in self.timeline(child_id, VIEWERS[viewer] if isinstance(viewer, str) else viewer)["entries"]:
            name = self.names.get(e["id"]) or f"{e['source']['organisation']}:unnamed"
            out[name] = e["level"]
        return out

    def settle(self, child_id: str, entries: int, within: float = 30) -> None:
        """Wait until the IG officer's metadata view holds `entries` entries and nothing is being re-projected."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            view = self.timeline(child_id, VIEWERS["ig"])
            if len(view["entries"]) >= entries and not view.get("updating"):
                return
            time.sleep(0.1)
        raise AssertionError(f"only {len(view['entries'])} of {entries} entries became visible")


def _send_all(region: Region, deliveries: list[s.Delivery], name: str, drop_education: bool = False) -> None:
    for delivery in deliveries:
        outcome = region.send(delivery, name, via_drop=drop_education and delivery.channel == "education")
        assert outcome.accepted, (delivery.label, outcome.status, outcome.problems)
        assert not outcome.problems, (delivery.label, outcome.problems)


# What each viewer sees of Amara, in VIEWERS order; "-" is nothing at all. Read with `onestory policy explain`:
# her competent refusal closes everything to her school (dsl, teacher) despite her mother's consent; her own
# consent opens school and VCSE records to health, council and VCSE within each role's need to know; the
# safeguarding concern reaches the social worker acting for safeguarding only; the sexual-health attendance is
# sealed (the clinic alone); the child in need plan travels on public task; F32.1 is PSY, a flag for VCSE.
AMARA = {
    "amara:100001:person.registered": "- - - - full full full - - - flag flag",
    "amara:pastoral:concern.raised": "summary summary summary summary full full summary summary - flag flag flag",
    "amara:100001:attendance.summary": "summary summary summary summary full full full summary - - flag flag",
    "amara:safeguarding:concern.raised": "- - - - flag full flag - full - flag flag",
    "RY7X1:unnamed": "- - - full - - - - - - - -",
    "amara:990:plan.started": "summary summary flag flag - - - full full - flag flag",
    "amara:990:voice.recorded": "full full full full - - - full full full flag flag",
    "amara:A81001:consent.given": "full - - - - - - - - - flag flag",
    "amara:A81001:person.registered": "full full full full - - - - - - flag flag",
    "amara:A81001:referral.made": "full full full full - - - full - summary flag flag",
    "amara:ONESTORY:consent.given": "- - - - - - - - - - flag flag",
    "amara:ONESTORY:consent.refused": "- - - - - - - - - - flag flag",
    "amara:ONESTORY:self-referral.submitted": "full full full full - - - summary - full flag flag",
    "amara:RX4:assessment.completed": "full full summary summary - - - summary - flag flag flag",
    "amara:RX4:competence.assessed": "full full full full - - - - - - flag flag",
    "amara:RX4:consent.given": "- full - - - - - - - - flag flag",
    "amara:RX4:consent.refused": "- full - - - - - - - - flag flag",
    "amara:RX4:person.registered": "full full full full - - - - - - flag flag",
    "amara:RY7:encounter.ended": "full full summary summary - - - - - - flag flag",
    "amara:VCSE01:vcse.session": "summary summary summary summary - - - summary - full flag flag",
}


def _expected(table: dict[str, str], viewer: str) -> dict[str, str]:
    column = list(VIEWERS).index(viewer)
    return {name: levels.split()[column] for name, levels in table.items() if levels.split()[column] != "-"}


def _wait_for(probe: Any, within: float, what: str) -> float:
    t0 = time.monotonic()
    while not probe():
        assert time.monotonic() - t0 < within, f"{what} not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_four_childrens_stories_per_viewer(hub: RunningHub, tmp_path: Path, database_url: str) -> None:
    region = Region(hub, tmp_path / "drop")
    today = date.today()
    kids = s.children(today)
    _send_all(region, s.amara(today, kids["amara"]), "amara")
    _send_all(region, s.ben(today, kids["ben"]), "ben", drop_education=True)
    _send_all(region, s.chloe(today, kids["chloe"]), "chloe")
    _send_all(region, s.daniel(today, kids["daniel"]), "daniel")

    # Amara, 14, assessed competent: every viewer, every entry.
    amara = region.child_id(kids["amara"].nhs, s.GP_AMARA)
    region.settle(amara, 22)
    for viewer in VIEWERS:
        assert region.levels(amara, viewer) == _expected(AMARA, viewer), viewer

    # Ben, 16: presumed competent. His own consent (a row in his school's consents export, through the drop
    # folder) opens the pastoral concern to his GP; his "do not tell my school" beats his father's consent.
    ben = region.child_id(kids["ben"].nhs, s.GP_BEN)
    region.settle(ben, 7)
    assert region.levels(ben, ("gp", s.GP_BEN, "direct-care")) == {
        "ben:A81002:person.registered": "full",
        "ben:A81002:consent.given": "full",
        "ben:ONESTORY:self-referral.submitted": "full",
        "100003:unnamed": "summary",
    }
    assert region.levels(ben, ("school-dsl", s.SCHOOL_BEN, "direct-care")) == {
        "100003:unnamed": "full"
    }  # its own records; nothing of his health

    # Chloe, 13, not yet assessed: her self-referral reaches the services she asked for (GP and CAMHS), but her
    # consent to tell them about the VCSE drop-in counts only once CAMHS records that she is competent.
    chloe = region.child_id(kids["chloe"].nhs, s.GP_CHLOE)
    region.settle(chloe, 6)
    gp_chloe = ("gp", s.GP_CHLOE, "direct-care")
    before = region.levels(chloe, gp_chloe)
    assert before["chloe:ONESTORY:self-referral.submitted"] == "full"
    assert "chloe:VCSE01:vcse.session" not in before
    assert region.levels(chloe, "camhs")["chloe:ONESTORY:self-referral.submitted"] == "full"
    region.send(s.chloe_assessed(today, kids["chloe"]), "chloe")
    _wait_for(
        lambda: region.levels(chloe, gp_chloe).get("chloe:VCSE01:vcse.session") == "summary",
        5,
        "Chloe's consent counting after her competence assessment",
    )

    # Daniel, 12: his refusal holds against his father's consent until CAMHS records he was not competent to
    # make it; then his father decides and the school sees the referral (a summary, its need to know).
    daniel = region.child_id(kids["daniel"].nhs, s.GP_DANIEL)
    region.settle(daniel, 5)
    dsl_daniel = ("school-dsl", s.SCHOOL_DANIEL, "direct-care")
    assert "daniel:A81004:referral.made" not in region.levels(daniel, dsl_daniel)
    region.send(s.daniel_assessed(today, kids["daniel"]), "daniel")
    _wait_for(
        lambda: region.levels(daniel, dsl_daniel).get("daniel:A81004:referral.made") == "summary",
        5,
        "the father's consent counting after Daniel was assessed not competent",
    )

    # Amara withdraws her consent: her GP stops seeing the VCSE sessions and school records within a second.
    region.send(s.amara_withdraws(today, kids["amara"]), "amara")
    delay = _wait_for(
        lambda: "amara:VCSE01:vcse.session" not in region.levels(amara, "gp"), 1.0, "the withdrawal reaching the GP"
    )
    print(f"withdrawal visible to the GP in {delay * 1000:.0f} ms")
    region.settle(amara, 22)  # the view closed at once (a pending consent hides others' entries); now re-projected
    gp_after = region.levels(amara, "gp")
    assert "amara:pastoral:concern.raised" not in gp_after and "amara:100001:attendance.summary" not in gp_after
    assert gp_after["amara:A81001:referral.made"] == "full"  # the GP's own, and health's direct-care basis
    assert gp_after["amara:ONESTORY:self-referral.submitted"] == "full"  # her own request to her GP stands

    # An incomplete safeguarding basis is refused at intake, naming row and column, and kept.
    refused = region.send(s.incomplete_safeguarding(today, kids["amara"]), "amara")
    assert refused.status == "422", refused
    assert any(p.startswith("row 2, column Reason") for p in refused.problems), refused.problems
    engine = engine_for(database_url)
    try:
        kept = [r for r in wait_for_deadletters(engine, 1) if r.connector == "education"]
    finally:
        engine.dispose()
    assert len(kept) == 1 and "Reason" in kept[0].reason, [r.reason for r in kept]
