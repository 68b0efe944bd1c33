"""The CapabilityStatement: what this server reads, how it is searched and how it is secured (SMART on FHIR)."""

from __future__ import annotations

from typing import Any

from hub.fhir.mapping import validated
from hub.fhir.search import SEARCH_TYPES, catalogue

__all__ = ["SEARCH_TYPES", "capability_statement"]


def capability_statement(base: str, smart_base: str, released: str) -> dict[str, Any]:
    """Exactly what is served: built from search.yaml, the table the API checks every request against."""
    resources = catalogue().capability_resources()
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "kind": "instance",
        "software": {"name": "OneStory hub"},
        "implementation": {"description": "OneStory shared care record", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": f"{smart_base}/authorize"},
                                {"url": "token", "valueUri": f"{smart_base}/token"},
                            ],
                        }
                    ],
                },
                "resource": resources,
            }
        ],
    }
    return validated(statement)
