"""The education drop folder: nightly MIS exports land here and are taken in like POST /intake/education.

File names say what they hold: `<URN>_<type>[_anything].csv` (type: pupils, attendance, exclusions, sen,
concerns, referrals, consents, competence) or `<URN>_<anything>.json`. A file is taken once its size has
stopped changing between two scans, so half-copied files are left alone. Outcomes:
- taken (even with some bad rows, which are dead-lettered row by row) → `done/`, with a `.report.json`;
- unusable as a whole (unreadable, wrong name) → dead-lettered and moved to `failed/` with a `.report.json`;
- the hub could not store it just now → left where it is, retried on the next scan.
A file is never deleted. The folder is trusted local storage: the organisation comes from the file name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors.batch import Batch
from connectors.education.map import map_csv, map_json
from connectors.errors import MappingError
from connectors.intake_runner import IntakeReport, run_intake
from connectors.publisher import Publisher

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(?P<urn>[A-Za-z0-9]{3,12})_(?P<type>[a-z]+)(?:_[^/]*)?\.(?P<ext>csv|json)$", re.IGNORECASE)


@dataclass(frozen=True)
class FileOutcome:
    name: str
    folder: str  # done | failed | retry
    status: int
    accepted: int
    rejected_rows: int


def _produce(path: Path, body: bytes) -> tuple[str, Callable[[datetime], Batch]]:
    m = _NAME.match(path.name)
    if not m:

        def bad(now: datetime) -> Batch:
            raise MappingError("file name must be <URN>_<type>[_anything].csv or <URN>_<anything>.json", "file name")

        return "application/octet-stream", bad
    urn, rtype = m["urn"], m["type"].lower()
    if m["ext"].lower() == "json":
        return f"application/json; org={urn}", lambda now: map_json(body, urn, now)
    return f"text/csv; type={rtype}; org={urn}", lambda now: map_csv(body, rtype, urn, None, now)


class DropFolderWatcher:
    def __init__(
        self,
        folder: Path,
        publisher: Publisher,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.folder = folder
        self._publisher = publisher
        self._interval = interval
        self._clock = clock
        self._sizes: dict[str, tuple[int, float]] = {}
        for sub in ("done", "failed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.scan_once)
            except OSError as exc:
                log.warning("education drop folder scan failed: %s", type(exc).__name__)
            await asyncio.sleep(self._interval)

    def scan_once(self) -> list[FileOutcome]:
        outcomes = []
        seen = set()
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in (".csv", ".json"):
                continue
            stat = path.stat()
            seen.add(path.name)
            if self._sizes.get(path.name) != (stat.st_size, stat.st_mtime):
                self._sizes[path.name] = (stat.st_size, stat.st_mtime)
                continue  # still being written, or new: take it on the next scan if unchanged
            outcomes.append(self.take(path))
            self._sizes.pop(path.name, None)
        for name in set(self._sizes) - seen:
            self._sizes.pop(name, None)
        return outcomes

    def take(self, path: Path) -> FileOutcome:
        body = path.read_bytes()
        content_type, produce = _produce(path, body)
        now = self._clock()
        report = run_intake(self._publisher, "education", body, content_type, lambda: produce(now), now, atomic=False)
        rejected = sum(1 for i in report.issues if i.severity == "error")
        if report.status == 503:
            log.warning("education drop: %s left for retry (hub could not store it)", path.name)
            return FileOutcome(path.name, "retry", report.status, 0, rejected)
        folder = "done" if report.status == 200 else "failed"
        target = self.folder / folder / f"{now.strftime('%Y%m%dT%H%M%S')}_{path.name}"
        _write_report(target.with_name(target.name + ".report.json"), path.name, report)
        path.replace(target)
        log.info(
            "education drop: %s → %s (%d events, %d rows rejected)", path.name, folder, len(report.accepted), rejected
        )
        return FileOutcome(path.name, folder, report.status, len(report.accepted), rejected)


def _write_report(target: Path, name: str, report: IntakeReport) -> None:
    """What happened, by row and column; reasons only (no values from the file).

    Written under a temporary name and renamed, so whoever watches the folder never reads half a report."""
    body = {
        "file": name,
        "status": report.status,
        "accepted_events": len(report.accepted),
        "issues": [{"location": i.location, "reason": i.reason, "severity": i.severity} for i in report.issues],
        "dead_letters": report.deadletter_ids,
    }
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(body, indent=2))
    partial.replace(target)
