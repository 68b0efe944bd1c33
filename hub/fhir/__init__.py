"""FHIR R4 views of the projections: pure mapping functions, one module per resource family.

Nothing here does I/O except `hub.fhir.service`, which reads the projections and decides disclosure live.
"""
