"""Synthetic populations for tests and benchmarks: deterministic by seed, with ground truth.

``population`` makes children, families and their life events (moves, adoption); ``records`` turns each
child into the source records agencies would hold about them, with realistic errors; ``identifiers``
makes valid NHS numbers (999 test range) and UPNs; ``events`` tells each child's story over the years and
``sources`` writes it in each agency's own format (HL7 v2, FHIR, school CSV, social-care and VCSE JSON), so
the connectors are exercised too (docs/synth.md). ``reference`` holds what they draw on from the bundled data
files (nicknames, organisation directory): the caller loads it once and passes it; importing reads nothing.
"""

from hub.synth.population import Child, Population, generate_population
from hub.synth.records import SourceRecord, generate_records

__all__ = ["Child", "Population", "SourceRecord", "generate_population", "generate_records"]
