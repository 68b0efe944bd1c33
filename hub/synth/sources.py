"""A synthetic region's stories → the source files agencies would send, with a manifest of what they should become.

Layout under ``sources/`` (one file per sending organisation, and per record type for schools):

- ``hl7v2/<ODS>.hl7`` — HL7 v2 messages MLLP-framed back to back (``0x0B`` message ``0x1C 0x0D``), exactly
  the byte stream the trust's interface engine would write to the socket, in the order it would send them;
- ``fhir/<ODS>.ndjson`` — one FHIR R4 request body (a resource) per line, for ``POST /intake/fhir``;
- ``education/<URN>-<type>.csv`` — school MIS exports for ``POST /intake/education?type=<type>``;
- ``social-care/<LA>.json`` and ``vcse/<org>.json`` — one request body each;
- ``self-referral/forms.ndjson`` — one self-referral form per line;
- ``organisations.json`` and ``manifest.json`` (counts per source and kind, expected rejections and why).

Deterministic: the same population, records and seed give the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.synth import education_out, fhir_out, hl7v2_out, self_referral_out, social_care_out, vcse_out
from hub.synth.events import Happening, child_story
from hub.synth.items import Item, Rejection
from hub.synth.organisations import Organisation, Organisations
from hub.synth.population import Population
from hub.synth.records import SourceRecord
from hub.synth.reference import Reference

Renderer = Callable[[Happening, int, int, Organisations], list[Item]]
MLLP_START, MLLP_END = b"\x0b", b"\x1c\x0d"
SOURCES = ("hl7v2", "fhir", "education", "social-care", "vcse", "self-referral")


def renderer(h: Happening) -> Renderer:
    """Which format an agency sends a happening in (CAMHS books appointments in its PAS, over HL7 SIU)."""
    if h.agency == "acute" or (h.agency == "camhs" and h.what == "appointment"):
        return hl7v2_out.render
    if h.agency in ("gp", "camhs"):
        return fhir_out.render
    return {
        "school": education_out.render,
        "council": social_care_out.render,
        "vcse": vcse_out.render,
        "self": self_referral_out.render,
    }[h.agency]


def _text(item: Item) -> str:
    if isinstance(item.body, str):
        return item.body
    return json.dumps(item.body, separators=(",", ":"), ensure_ascii=False)


def location(source: str, index: int, rejection: Rejection) -> str:
    """Where the connector will say the problem is, given the item's position in its file."""
    if source == "education":
        return f"row {index + 2}, column {rejection.field}"
    if source in ("social-care", "vcse"):
        return f"records[{index}].{rejection.field}"
    return rejection.field


@dataclass
class SourceSet:
    """Items as they are emitted; `finish` orders each file as its sender would send it."""

    keep_items: bool = False
    entries: dict[str, list[tuple[int, int, str]]] = field(default_factory=lambda: defaultdict(list))
    kinds: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    file_kinds: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    rejected: dict[int, tuple[str, Rejection]] = field(default_factory=dict)
    file_source: dict[str, str] = field(default_factory=dict)
    file_org: dict[str, str] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    orgs_used: set[str] = field(default_factory=set)
    organisations: dict[str, Organisation] = field(default_factory=dict)  # orgs_used, as the directory has them
    seq: int = 0

    def add(self, item: Item) -> None:
        self.seq += 1
        self.entries[item.file].append((item.when, self.seq, _text(item)))
        self.file_source[item.file] = item.source
        self.file_org[item.file] = item.org
        for kind in item.kinds:
            self.kinds[item.source][kind] += 1
            self.file_kinds[item.file][kind] += 1
        if item.rejection is not None:
            self.rejected[self.seq] = (item.file, item.rejection)
        if self.keep_items:
            self.items[self.seq] = item

    def ordered(self, path: str) -> list[tuple[int, int, str]]:
        rows = self.entries[path]
        rows.sort()
        return rows

    def render(self, path: str) -> bytes:
        rows = self.ordered(path)
        source = self.file_source[path]
        if source == "hl7v2":
            return b"".join(MLLP_START + text.encode() + MLLP_END for _, _, text in rows)
        if source == "education":
            rtype = path.rsplit("-", 1)[1].removesuffix(".csv")
            return "\n".join([education_out.header(rtype), *(t for _, _, t in rows)]).encode() + b"\n"
        if source in ("social-care", "vcse"):
            key = "la_code" if source == "social-care" else "organisation"
            head = json.dumps({key: self.file_org[path]})[:-1]
            return (head + ', "records": [\n' + ",\n".join(t for _, _, t in rows) + "\n]}\n").encode()
        return "".join(t + "\n" for _, _, t in rows).encode()

    def item_order(self, path: str) -> list[Item]:
        """The kept items of one file in file order (keep_items=True only): for tests that need the truth."""
        return [self.items[seq] for _, seq, _ in self.ordered(path)]

    def rejections(self) -> list[dict[str, Any]]:
        out = []
        positions = {
            seq: (path, i)
            for path in sorted({p for p, _ in self.rejected.values()})
            for i, (_, seq, _) in enumerate(self.ordered(path))
        }
        for seq, (path, rejection) in self.rejected.items():
            _, index = positions[seq]
            source = self.file_source[path]
            out.append(
                {
                    "file": path,
                    "item": index,
                    "error": rejection.error,
                    "location": location(source, index, rejection),
                    "reason": rejection.reason,
                }
            )
        return sorted(out, key=lambda r: (r["file"], r["item"]))


def build(
    population: Population,
    records: list[SourceRecord],
    seed: int,
    keep_items: bool = False,
    progress: Callable[[int], None] | None = None,
    reference: Reference | None = None,
) -> SourceSet:
    """Every child's story, rendered by the agencies that hold a record about the child (`reference`: the bundled
    nicknames and directory, read here when the caller has not)."""
    reference = reference or Reference.bundled()
    organisation = Organisations(reference.directory)
    by_child: dict[int, list[SourceRecord]] = defaultdict(list)
    for record in records:
        by_child[record.child_index].append(record)
    out = SourceSet(keep_items=keep_items)
    for record in records:
        out.orgs_used.add(record.organisation)
    out.organisations = {name: organisation(name) for name in sorted(out.orgs_used)}
    for child in population.children:
        for happening in child_story(population, child, by_child[child.index], seed, reference):
            for item in renderer(happening)(happening, child.index, seed, organisation):
                out.add(item)
        if progress:
            progress(1)
    return out


def manifest(sources: SourceSet, population: Population, seed: int) -> dict[str, Any]:
    children, years = len(population.children), max(1, round((population.end - population.start).days / 365))
    rejections = sources.rejections()
    per_source: dict[str, Any] = {}
    for source in SOURCES:
        files = sorted(p for p, s in sources.file_source.items() if s == source)
        kinds = sources.kinds.get(source, Counter())
        rejected = [r for r in rejections if sources.file_source[r["file"]] == source]
        per_source[source] = {
            "files": len(files),
            "items": sum(len(sources.entries[p]) for p in files),
            "events": dict(sorted(kinds.items())),
            "rejected_items": len(rejected),
            "rejected_by_reason": dict(sorted(Counter(f"{r['error']}: {r['reason']}" for r in rejected).items())),
        }
    totals: Counter[str] = Counter()
    for counter in sources.kinds.values():
        totals.update(counter)
    return {
        "seed": seed,
        "population_seed": population.seed,
        "children": children,
        "years": years,
        "window": {"start": population.start.isoformat(), "end": population.end.isoformat()},
        "sources": per_source,
        "events": dict(sorted(totals.items())),
        "events_per_child_per_year": {k: round(v / children / years, 3) for k, v in sorted(totals.items())},
        "files": {
            path: {
                "org": sources.file_org[path],
                "items": len(sources.entries[path]),
                "events": dict(sorted(sources.file_kinds[path].items())),
            }
            for path in sorted(sources.file_source)
        },
        "expected_rejections": rejections,
    }


def organisations_json(sources: SourceSet) -> list[dict[str, str]]:
    return [sources.organisations[o].as_json() for o in sorted(sources.orgs_used)]


def write(sources: SourceSet, population: Population, seed: int, out: Path) -> dict[str, Any]:
    """Write sources/ under `out` (replacing an earlier run's sources) and return the manifest."""
    root = out / "sources"
    if root.exists():
        for old in sorted(root.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    for path in sorted(sources.file_source):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(sources.render(path))
    data = manifest(sources, population, seed)
    (root / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")
    (root / "organisations.json").write_text(json.dumps(organisations_json(sources), indent=1) + "\n")
    return data
