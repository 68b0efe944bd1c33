"""A stream of MLLP and HTTP input against a running hub while a fault is injected, and the reconciliation
afterwards: every ACKed (AA) or 2xx input is in the event store, on the right child's timeline, once.

Senders behave like real agency systems: one message at a time per connection, a fresh MLLP connection per
message, and anything not positively acknowledged counts as not accepted (a real sender would resend it).
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine, select

from connectors.hl7v2.mllp_client import ack_code, send_message
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.bench.intake import TRUST, adt_a01, fhir_patient
from hub.db.tables import child_identifiers, event_store, timeline_entries
from hub.events.codec import EventCodec
from hub.synth.identifiers import test_range_nhs_numbers
from tests.support.hub_process import RunningHub


@dataclass
class Tally:
    """What the senders were told: accepted inputs (by control id / event ids) and everything else."""

    sent: int = 0
    hl7_acked: dict[str, str] = field(default_factory=dict)  # control id -> NHS number
    http_acked: dict[str, str] = field(default_factory=dict)  # event id -> NHS number
    refused: int = 0  # AE/AR or 4xx/5xx: the sender knows it was not accepted
    unanswered: int = 0  # no reply at all (connection refused, reset or timed out)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acked(self) -> int:
        return len(self.hl7_acked) + len(self.http_acked)


class NhsNumbers:
    """Distinct NHS numbers shared by both senders of a stream, from a block of the test range per seed.

    Random draws collided: an HL7 admission and an HTTP registration (different birth dates) given the same
    NHS number are rightly two children with an identity review, which the reconciliation (NHS number -> one
    child) then counted as an entry on the wrong timeline.
    """

    def __init__(self, seed: int) -> None:
        self._numbers = itertools.islice(test_range_nhs_numbers(), seed * 100_000, None)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return next(self._numbers)


def _hl7_sender(hub: RunningHub, tally: Tally, stop: threading.Event, numbers: NhsNumbers, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        control_id, nhs = f"{tag}{n:06d}", numbers.next()
        try:
            message = adt_a01(control_id, nhs, patient_class="E")
            code = ack_code(send_message(hub.mllp_host, hub.mllp_port, message, timeout=30))
        except (OSError, ConnectionError, ValueError):
            code = None
            time.sleep(0.2)
        with tally.lock:
            tally.sent += 1
            if code == "AA":
                tally.hl7_acked[control_id] = nhs
            elif code is None:
                tally.unanswered += 1
            else:
                tally.refused += 1


def _http_sender(hub: RunningHub, tally: Tally, stop: threading.Event, numbers: NhsNumbers, token: str) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            nhs = numbers.next()
            try:
                reply = client.post(
                    hub.api + "/intake/fhir",
                    content=fhir_patient(nhs),
                    headers={"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError:
                reply = None
                time.sleep(0.2)
            with tally.lock:
                tally.sent += 1
                if reply is None:
                    tally.unanswered += 1
                elif reply.status_code == 200:
                    for issue in reply.json()["issue"]:
                        for coding in (issue.get("details") or {}).get("coding", []):
                            if coding.get("system") == "urn:onestory:event-id":
                                tally.http_acked[coding["code"]] = nhs
                else:
                    tally.refused += 1
            time.sleep(0.02)


def stream(
    hub: RunningHub, seconds: float, faults: list[tuple[float, Callable[[], None]]], seed: int, tag: str
) -> Tally:
    """Send for `seconds` from one MLLP and one HTTP sender, calling each fault at its offset."""
    tally, stop, numbers = Tally(), threading.Event(), NhsNumbers(seed)
    token = hub.token(user="pas-system", org=TRUST, role="system")
    senders = [
        threading.Thread(target=_hl7_sender, args=(hub, tally, stop, numbers, tag), daemon=True),
        threading.Thread(target=_http_sender, args=(hub, tally, stop, numbers, token), daemon=True),
    ]
    for t in senders:
        t.start()
    t0 = time.monotonic()
    for at, fault in sorted(faults, key=lambda f: f[0]):
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        fault()
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    stop.set()
    for t in senders:
        t.join(60)
    return tally


@dataclass
class Reconciliation:
    stored: int
    lost: list[str]
    wrong_child: list[str]
    doubled: list[str]
    seconds: float


def _archive(engine: Engine, codec: EventCodec) -> dict[str, dict[str, Any]]:
    """event id -> (child id, source record id) of every archived event."""
    with engine.connect() as conn:
        rows = conn.execute(select(event_store.c.event_id, event_store.c.child_id, event_store.c.body)).all()
    # an HL7 event's record id is "<MSH-3>|<MSH-4>|<MSH-10>"; the control id is what the sender knows
    return {
        r.event_id: {"child": r.child_id, "record": codec.decode(bytes(r.body))["source"]["record_id"].split("|")[-1]}
        for r in rows
    }


def reconcile(engine: Engine, tally: Tally, timeout: float = 120.0) -> Reconciliation:
    """Wait (bounded) until every acknowledged input is archived, then check each is on its child's timeline."""
    codec = EventCodec.load()
    t0 = time.monotonic()
    while True:
        archive = _archive(engine, codec)
        records = {a["record"]: (eid, a["child"]) for eid, a in archive.items()}
        lost = [c for c in tally.hl7_acked if c not in records] + [e for e in tally.http_acked if e not in archive]
        if not lost or time.monotonic() - t0 > timeout:
            break
        time.sleep(0.5)
    seconds = time.monotonic() - t0
    with engine.connect() as conn:
        children = {
            r.value: r.child_id
            for r in conn.execute(
                select(child_identifiers.c.value, child_identifiers.c.child_id).where(
                    child_identifiers.c.system == NHS_NUMBER_SYSTEM
                )
            )
        }
        entries: dict[str, list[str]] = {}
        for r in conn.execute(select(timeline_entries.c.entry_id, timeline_entries.c.child_id)):
            entries.setdefault(r.entry_id, []).append(r.child_id)
    accepted = [(records[c][0], nhs) for c, nhs in tally.hl7_acked.items() if c in records]
    accepted += [(e, nhs) for e, nhs in tally.http_acked.items() if e in archive]
    wrong = [eid for eid, nhs in accepted if archive[eid]["child"] != children.get(nhs)]
    wrong += [eid for eid, _ in accepted if eid not in entries or entries[eid] != [archive[eid]["child"]]]
    per_record: dict[str, int] = {}
    for a in archive.values():
        per_record[a["record"]] = per_record.get(a["record"], 0) + 1
    doubled = [c for c in tally.hl7_acked if per_record.get(c, 0) > 1]
    return Reconciliation(len(accepted), lost, wrong, doubled, seconds)


def wait_until(probe: Callable[[], bool], timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not probe():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - t0


def port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False
