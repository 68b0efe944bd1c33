"""Served resources are validated against R4B; a resource with the same content is not validated twice."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from hub.fhir import mapping


def _flag() -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "id": "e1",
        "status": "active",
        "code": {"text": "Involved: CAMHS"},
        "subject": {"reference": "Patient/c1"},
    }


def test_invalid_content_is_rejected_even_after_a_valid_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapping, "_VALIDATED", mapping._Validated(limit=4))
    good = _flag()
    assert mapping.validated(good) is good
    bad = copy.deepcopy(good)
    del bad["code"]  # required in R4
    with pytest.raises(ValidationError):
        mapping.validated(bad)
    with pytest.raises(ValidationError):  # a failure is not remembered as a success
        mapping.validated(copy.deepcopy(bad))


def test_same_content_is_validated_once_and_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = mapping._Validated(limit=4)
    monkeypatch.setattr(mapping, "_VALIDATED", cache)
    calls: list[str] = []
    real = mapping._r4b_model

    def counting(resource_type: str) -> Any:
        calls.append(resource_type)
        return real(resource_type)

    monkeypatch.setattr(mapping, "_r4b_model", counting)
    mapping.validated(_flag())
    mapping.validated(_flag())
    assert calls == ["Flag"]
    for n in range(10):
        mapping.validated(_flag() | {"id": f"e{n + 2}"})
    assert len(cache._seen) <= 4
