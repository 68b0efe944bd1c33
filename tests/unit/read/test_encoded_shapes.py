"""Shapes kept between reads carry their JSON encoded once; a response splices it in and must say exactly what
encoding the shape itself would say (hub.read.story.EncodedList, hub.fhir.bundles.EncodedResource)."""

from __future__ import annotations

import orjson

from hub.api.responses import FastJSONResponse
from hub.fhir.bundles import EncodedResource, searchset
from hub.read.story import EncodedList

ENTRIES = [
    {"id": "e1", "occurredAt": "2026-03-02T10:00:00+00:00", "level": "flag", "note": 'Contact: ünïcødé "quoted"'},
    {"id": "e2", "level": "full", "detail": {"score_value": 2.5, "labels": ["SEX"], "none": None, 3: "int key"}},
]


def _encoded(entries: list[dict[str, object]]) -> EncodedList:
    shared = EncodedList(entries)
    shared.encoded = orjson.Fragment(orjson.dumps(entries, option=orjson.OPT_NON_STR_KEYS))
    return shared


def test_a_timeline_body_with_encoded_entries_renders_as_the_plain_body() -> None:
    plain = FastJSONResponse({"childId": "c1", "updating": False, "entries": ENTRIES}).body
    spliced = FastJSONResponse({"childId": "c1", "updating": False, "entries": _encoded(ENTRIES)}).body
    assert spliced == plain
    assert orjson.loads(spliced)["entries"][0]["note"].startswith("Contact: ü")


def test_only_the_encoded_json_is_spliced_in() -> None:
    """The fragment is what goes out: a test that would notice if the response encoded the list again."""
    shared = _encoded(ENTRIES)
    shared.encoded = orjson.Fragment(b'["marker"]')
    assert orjson.loads(FastJSONResponse({"entries": shared}).body) == {"entries": ["marker"]}
    unencoded = EncodedList(ENTRIES)  # no encoding made: encoded as usual
    assert FastJSONResponse({"entries": unencoded}).body == FastJSONResponse({"entries": ENTRIES}).body


def test_a_bundle_with_kept_resources_renders_as_with_plain_ones() -> None:
    resources = [{"resourceType": "Observation", "id": "o1", "status": "final", "valueQuantity": {"value": 1.5}}]
    kept = [EncodedResource.of(r) for r in resources]
    assert kept[0] == resources[0]
    plain = searchset("http://hub/fhir", "Patient/c1/$everything", resources, 1, {}, None)
    spliced = searchset("http://hub/fhir", "Patient/c1/$everything", kept, 1, {}, None)
    assert FastJSONResponse(spliced).body == FastJSONResponse(plain).body
