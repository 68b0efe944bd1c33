"""One router per interface: FHIR, the viewer and timeline, break-glass, intake, IG, identity review, My story."""
