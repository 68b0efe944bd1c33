"""A choice made on "My story" → consent events from the young person or parent. Pure.

The page (hub.api.routes.my_story) sends what the signed-in person chose, with the child's identifiers the hub
already holds; each change becomes `consent.given`, `consent.refused` or `consent.withdrawn` with the person
as the one who gave it and the hub's page as the source, exactly as a consent from any other source: the
identity step finds the child, the consent engine decides what it opens and closes, and it is audited the
same way. A "no" to something the person had said yes to is a withdrawal scoped to what they named; a "no"
to something they had not said yes to is a refusal, so it still counts if someone else had said yes.

Input (JSON): {"choice_id", "given_by", "identifiers": [{"system", "value"}], "changes": [{"status",
"organisation_types", "categories"}]}. The choice id is made by the page from the session and the moment, so a
double submit gives the same events.

A question or a correction asked of one organisation in the team (`map_question`) is the young person's own
words, `voice.recorded`, filed with the organisation it is for, as a letter to them would be: that organisation
sees it as its own entry (the consent engine's first rule), and anyone else only as the young person's sharing
choices for their words allow. It is never shared more widely because it was sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connectors.batch import Batch
from connectors.canonical import (
    CATEGORIES,
    EventSpec,
    Source,
    basis,
    build_event,
    consent_event,
    consent_payload,
    make_subject,
    policy_terms,
)
from connectors.consent_rows import GIVEN_BY, STATUSES
from connectors.errors import MappingError
from connectors.tabular import load_json_object
from hub.events.model import Identifier

ORGANISATION = "ONESTORY"  # the hub runs the page, as it runs the self-referral form
CONNECTOR = "my_story"
_WHO = {"young-person": "the young person", "parental-responsibility": "a person with parental responsibility"}


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MappingError("must be a list of codes", where)
    return sorted(set(value))


def map_choices(body: bytes, now: datetime) -> Batch:
    form = load_json_object(body)
    choice_id = form.get("choice_id")
    if not isinstance(choice_id, str) or not choice_id.strip() or len(choice_id) > 80:
        raise MappingError("a choice id is needed", "choice_id")
    given_by = form.get("given_by")
    if given_by not in GIVEN_BY:
        raise MappingError(f"given_by must be {' or '.join(GIVEN_BY)}", "given_by")
    ids: list[Identifier] = [
        {"system": str(i["system"]), "value": str(i["value"]), "validated": True}
        for i in form.get("identifiers") or []
        if isinstance(i, dict) and i.get("system") and i.get("value")
    ]
    subject = make_subject(ids, location="identifiers")
    changes = form.get("changes")
    if not isinstance(changes, list) or not changes:
        raise MappingError("nothing was changed", "changes")
    known_types = policy_terms().organisation_types
    specs = []
    for n, change in enumerate(changes):
        where = f"changes[{n}]"
        if not isinstance(change, dict) or change.get("status") not in STATUSES:
            raise MappingError(f"status must be {' or '.join(STATUSES)}", f"{where}.status")
        status = str(change["status"])
        types = _strings(change.get("organisation_types"), f"{where}.organisation_types")
        categories = _strings(change.get("categories"), f"{where}.categories")
        if not types or any(t not in known_types for t in types):
            raise MappingError("name known organisation types", f"{where}.organisation_types")
        if not categories or any(c not in CATEGORIES for c in categories):
            raise MappingError("name known categories", f"{where}.categories")
        consent_id = f"{choice_id}-{n}"
        payload = consent_payload(
            consent_id,
            status,
            str(given_by),
            ORGANISATION,
            organisation_types=types,
            categories=categories,
            purposes=["direct-care"] if status == "given" else [],
            start=now,
        )
        specs.append(
            consent_event(
                payload,
                record_id=f"my-story|{consent_id}",
                subject=subject,
                occurred_at=now,
                recorded_at=now,
                summary=f"Consent {status} by {_WHO[str(given_by)]} on My story",
            )
        )
    source = Source(CONNECTOR, "my-story-page", ORGANISATION, "hub")
    content = json.dumps(form, sort_keys=True, default=str)
    return Batch(events=[build_event(source, spec, content, i) for i, spec in enumerate(specs)])


ABOUT = {"question": "Question", "correction": "Something is wrong"}  # what the message is, as the team reads it
MESSAGE_CHARACTERS = 2000


def map_question(body: bytes, now: datetime) -> Batch:
    """{"message_id", "given_by": "young-person", "identifiers", "to": {"organisation", "type", "name"},
    "about": "question" | "correction", "text"} -> one voice.recorded event in `to`'s part of the record."""
    form = load_json_object(body)
    message_id = form.get("message_id")
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > 80:
        raise MappingError("a message id is needed", "message_id")
    if form.get("given_by") != "young-person":
        raise MappingError("only the young person writes here", "given_by")
    about = form.get("about")
    if about not in ABOUT:
        raise MappingError(f"about must be {' or '.join(ABOUT)}", "about")
    text = form.get("text")
    if not isinstance(text, str) or not text.strip():
        raise MappingError("write your question or what is wrong", "text")
    if len(text) > MESSAGE_CHARACTERS:
        raise MappingError(f"use {MESSAGE_CHARACTERS} characters or fewer", "text")
    to = form.get("to")
    if not isinstance(to, dict) or not isinstance(to.get("organisation"), str) or not to["organisation"]:
        raise MappingError("say which organisation it is for", "to.organisation")
    if to.get("type") not in policy_terms().organisation_types:
        raise MappingError("name a known organisation type", "to.type")
    ids: list[Identifier] = [
        {"system": str(i["system"]), "value": str(i["value"]), "validated": True}
        for i in form.get("identifiers") or []
        if isinstance(i, dict) and i.get("system") and i.get("value")
    ]
    spec = EventSpec(
        kind="voice.recorded",
        category="voice-of-child",
        record_id=f"my-story|{message_id}",
        subject=make_subject(ids, location="identifiers"),
        occurred_at=now,
        recorded_at=now,
        summary=f"{ABOUT[str(about)]} from the young person on My story",
        payload_type="Voice",
        payload={
            "voice_id": message_id,
            "topic": f"{ABOUT[str(about)]} for {to.get('name') or to['organisation']}",
            "text": text.strip(),
            "captured_by_role": "young-person",
            "medium": "wrote",
        },
        sharing_basis=basis("none"),
        correlation_ids={"my-story-message": message_id},
    )
    source = Source(CONNECTOR, "my-story-page", str(to["organisation"]), str(to["type"]))
    content = json.dumps(form, sort_keys=True, default=str)
    return Batch(events=[build_event(source, spec, content)])
