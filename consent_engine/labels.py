"""Sensitivity labels from clinical and local codes, by the policy's labelling rules.

Connectors call this when they map a source record, so that an entry coded (say) ICD-10 F32 carries PSY
from the moment it enters the hub, and every later decision sees the label.
"""

from __future__ import annotations

from collections.abc import Iterable

from consent_engine.compiled import Policy

Coding = tuple[str, str] | str
"""A code as (system, code), or as a FHIR token "system|code"."""


def labels_for(policy: Policy, codes: Iterable[Coding]) -> tuple[str, ...]:
    """The sorted, distinct sensitivity labels the policy attaches to any of `codes`. Pure."""
    labels: set[str] = set()
    for coding in codes:
        if isinstance(coding, str):
            system, _, code = coding.partition("|")
        else:
            system, code = coding
        for rule in policy.labelling:
            if rule.system == system and (code in rule.codes or code.startswith(rule.prefixes)):
                labels |= rule.labels
    return tuple(sorted(labels))
