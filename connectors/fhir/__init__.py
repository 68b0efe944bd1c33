"""FHIR R4 intake: validate with fhir.resources R4B models (parse.py), map resources to canonical events (map.py)."""
