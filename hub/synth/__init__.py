"""Synthetic populations for tests and benchmarks: deterministic by seed, with ground truth.

``population`` makes children, families and their life events (moves, adoption); ``records`` turns each
child into the source records agencies would hold about them, with realistic errors; ``identifiers``
makes valid NHS numbers (999 test range) and UPNs. Issue 11 extends this to events in source formats.
"""

from hub.synth.population import Child, Population, generate_population
from hub.synth.records import SourceRecord, generate_records

__all__ = ["Child", "Population", "SourceRecord", "generate_population", "generate_records"]
