"""`onestory up`'s demo: a small region sent through the real interfaces, and where to look at it.

Four children whose stories cross five or more agencies (hub/region/story.py) and a synthetic region of
`background` more (hub/synth, seeded) go in exactly as agencies send them: HL7 v2 over MLLP, FHIR, school
CSV, council and VCSE JSON over HTTP intake with each sender's system token, and the public self-referral form.
Then the demo prints a viewer URL and a curl command for a CAMHS clinician that show Amara's story.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.region import story
from hub.region.deliver import Hub, deliver_all

CLINICIAN = ("camhs.clinician", story.CAMHS, "camhs-clinician", "direct-care")


@dataclass(frozen=True)
class DemoResult:
    sent: int
    refused: list[str]
    background: Counter[str]
    child_id: str | None
    token: str


def load_demo(
    api: str, mllp: tuple[str, int], data_dir: Path, background: int = 16, say: Callable[[str], None] = print
) -> DemoResult:
    key = load_or_create_signing_key(data_dir)

    def token(org: str, role: str = "system", purpose: str = "audit", user: str | None = None) -> str:
        now = datetime.now(UTC)
        return issue_token(
            key,
            user=user or f"{org}-system",
            organisation=org,
            role=role,
            purpose=purpose,
            now=now,
            ttl=timedelta(hours=12),
        )

    hub = Hub(api, mllp, token)
    today = date.today()
    deliveries = story.stories(today)
    say(f"demo: sending {len(deliveries)} requests for 4 children from 12 organisations (MLLP, FHIR, CSV, JSON, form)")
    outcomes = deliver_all(hub, deliveries)
    refused = [f"{o.delivery.label}: {o.status} {'; '.join(o.problems)}" for o in outcomes if not o.accepted]
    counts = _background(api, mllp, data_dir, background, token, say) if background else Counter()
    user, org, role, purpose = CLINICIAN
    clinician = token(org, role, purpose, user)
    child_id = _find(api, story.children(today)["amara"].nhs, clinician)
    return DemoResult(len(outcomes), refused, counts, child_id, clinician)


def _background(
    api: str,
    mllp: tuple[str, int],
    data_dir: Path,
    children: int,
    token: Callable[[str], str],
    say: Callable[[str], None],
) -> Counter[str]:
    """A seeded synthetic region written in its agencies' formats and replayed, as `onestory synth send` does."""
    from hub.synth.population import generate_population
    from hub.synth.records import generate_records
    from hub.synth.reference import Reference
    from hub.synth.replay import send
    from hub.synth.sources import build, write

    out = data_dir / "demo-region"
    reference = Reference.bundled()  # nicknames and directory, read once for the three steps
    population = generate_population(children, 7, 1, reference=reference)
    records = generate_records(population, reference=reference)
    write(build(population, records, 7, reference=reference), population, 7, out)
    say(f"demo: sending a synthetic region of {children} more children ({out / 'sources'})")
    report = send(out / "sources", api, mllp, token)
    return report.accepted


def _find(api: str, nhs: str, token: str, within: float = 30.0) -> str | None:
    deadline = time.monotonic() + within
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            bundle = client.get(
                f"{api}/fhir/Patient",
                params={"identifier": f"{story.NHS_SYSTEM}|{nhs}"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            if bundle.get("total"):
                return str(bundle["entry"][0]["resource"]["id"])
            time.sleep(0.2)
    return None


def hints(api: str, result: DemoResult) -> list[str]:
    """What the demo prints once loaded: what went in, and how a CAMHS clinician opens Amara's story."""
    lines = [f"demo: sent {result.sent} requests; refused {len(result.refused)}"]
    lines += [f"demo: refused: {r}" for r in result.refused]
    if result.background:
        lines.append(
            "demo: synthetic region accepted " + ", ".join(f"{n} {k}" for k, n in sorted(result.background.items()))
        )
    if result.child_id is None:
        lines.append("demo: Amara's story did not appear within 30 s; see the worker's log on stderr")
        return lines
    lines += [
        "demo: Amara (14) as a CAMHS clinician at Northshire CAMHS sees her, in the viewer:",
        f"demo:   {api}/viewer?patient={result.child_id}#access_token={result.token}",
        "demo: or as JSON:",
        f"demo:   curl -H 'Authorization: Bearer {result.token}' {api}/api/children/{result.child_id}/timeline",
    ]
    return lines
