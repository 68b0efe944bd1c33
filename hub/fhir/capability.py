"""The CapabilityStatement: what this server reads and how it is secured (SMART on FHIR)."""

from __future__ import annotations

from typing import Any

from hub.fhir.mapping import validated

SEARCH_TYPES = (
    "Encounter",
    "EpisodeOfCare",
    "ServiceRequest",
    "CarePlan",
    "Condition",
    "Flag",
    "Observation",
    "Communication",
    "CareTeam",
)


def capability_statement(base: str, smart_base: str, released: str) -> dict[str, Any]:
    page_params = [
        {"name": "_count", "type": "number", "documentation": "page size (default 50, at most 500)"},
        {"name": "_cursor", "type": "string", "documentation": "opaque cursor from a `next` link"},
    ]
    resources: list[dict[str, Any]] = [
        {
            "type": "Patient",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": "identifier", "type": "token"}],
            "operation": [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ],
        }
    ]
    resources += [
        {
            "type": t,
            "interaction": [{"code": "search-type"}],
            "searchParam": [{"name": "patient", "type": "reference"}, *page_params],
        }
        for t in SEARCH_TYPES
    ]
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
