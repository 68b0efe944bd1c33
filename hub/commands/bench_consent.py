"""`onestory bench consent`: consent decisions per second per core, on a realistic mix of inputs.

The workload is generated from the policy with a fixed seed: children with several consent records (young
person and parent, given, refused, withdrawn) and several relationships, entries across all categories with
labels, and viewers in every role, mostly with a legitimate relationship, some without, a few with
break-glass. A baseline (a dict lookup per input, over the same inputs and loop) is measured in the same run,
so the figure can be compared across machines as a ratio.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import click

from consent_engine import (
    ANY,
    BreakGlass,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Entry,
    Level,
    Policy,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
    decide,
)
from hub.policy_files import load_policy

Inputs = tuple[Sequence[ConsentRecord], Sequence[Relationship], Viewer, Entry]

_ROLES_BY_TYPE = {
    "gp-practice": ("gp",),
    "camhs": ("camhs-clinician",),
    "acute-trust": ("camhs-clinician",),
    "community-health": ("school-nurse",),
    "school": ("school-dsl", "teacher", "teacher"),
    "local-authority": ("social-worker",),
    "vcse": ("vcse-worker",),
    "hub": ("ig-officer", "system"),
}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _consents(rng: random.Random, child: str, policy: Policy, orgs: list[str]) -> list[ConsentRecord]:
    types = sorted(policy.organisation_types)
    categories = sorted(policy.categories)
    records = []
    for n in range(rng.randint(2, 5)):
        status = rng.choices(list(ConsentStatus), [8, 1, 1])[0]
        young = rng.random() < 0.6
        recorded = NOW - timedelta(days=rng.randint(1, 400))
        records.append(
            ConsentRecord(
                id=f"{child}-c{n}",
                status=status,
                by=Consenter.YOUNG_PERSON if young else Consenter.PARENTAL_RESPONSIBILITY,
                competent=young and rng.random() < 0.9,
                recorded_at=recorded,
                child_id=child,
                organisations=frozenset(rng.sample(orgs, rng.randint(0, 2))),
                organisation_types=frozenset(rng.sample(types, rng.randint(1, 3)))
                if rng.random() < 0.9
                else frozenset({ANY}),
                categories=frozenset(rng.sample(categories, rng.randint(3, 10)))
                if status is ConsentStatus.GIVEN
                else frozenset(rng.sample(categories, 2)),
                purposes=frozenset({"direct-care"}) if rng.random() < 0.8 else frozenset({ANY}),
                end=NOW + timedelta(days=200) if rng.random() < 0.3 else None,
            )
        )
    if rng.random() < 0.15:
        target = records[0]
        records.append(
            ConsentRecord(
                f"{child}-w",
                ConsentStatus.WITHDRAWN,
                target.by,
                NOW - timedelta(hours=2),
                competent=target.competent,
                withdraws=target.id,
                child_id=child,
            )
        )
    return records


def workload(policy: Policy, children: int = 400, seed: int = 7) -> list[Inputs]:
    """A reproducible mix of decision inputs, roughly 25 per child."""
    rng = random.Random(seed)
    orgs = sorted(policy.organisations)
    categories = sorted(policy.categories)
    labels = sorted(policy.labels)
    inputs: list[Inputs] = []
    for c in range(children):
        child = f"child-{c}"
        consents = _consents(rng, child, policy, orgs)
        involved = rng.sample(orgs, rng.randint(2, 6))
        relationships = [
            Relationship(
                org,
                start=NOW - timedelta(days=rng.randint(30, 900)),
                end=None if rng.random() < 0.85 else NOW - timedelta(days=1),
                child_id=child,
            )
            for org in involved
        ]
        for n in range(25):
            source = rng.choice(involved)
            basis = rng.choices(
                [
                    SharingBasis(SharingKind.CONSENT),
                    SharingBasis(SharingKind.NONE),
                    SharingBasis(SharingKind.LAWFUL_BASIS, "direct-care"),
                    SharingBasis(SharingKind.LAWFUL_BASIS, "safeguarding", "dsl-1", "risk of significant harm"),
                ],
                [5, 2, 2, 1],
            )[0]
            entry = Entry(
                f"{child}-e{n}",
                child,
                source,
                rng.choice(categories),
                tuple(rng.sample(labels, rng.choice([0, 0, 0, 1, 1, 2]))),
                basis,
                NOW - timedelta(days=n),
            )
            org = rng.choice(involved) if rng.random() < 0.8 else rng.choice(orgs)
            role = rng.choice(_ROLES_BY_TYPE.get(policy.organisations[org].type, ("gp",)))
            purpose = {"ig-officer": "audit", "system": "audit"}.get(role) or rng.choices(
                ["direct-care", "safeguarding"], [85, 15]
            )[0]
            glass = (
                BreakGlass(
                    "emergency-care",
                    "collapsed in A&E",
                    child,
                    NOW - timedelta(minutes=30),
                    NOW + timedelta(minutes=90),
                )
                if rng.random() < 0.02
                else None
            )
            inputs.append((consents, relationships, Viewer(f"user-{org}-{role}", org, role, purpose, glass), entry))
    return inputs


def _run(one_pass: Callable[[list[Inputs]], object], inputs: list[Inputs], seconds: float) -> tuple[float, float]:
    """(items per CPU second, items per wall-clock second) of `one_pass` over `inputs`, for `seconds` of CPU.

    A pass is one call over the whole list, so the harness adds a loop step per item and nothing else. CPU
    time is the per-core figure: on a shared machine wall-clock time also counts time spent descheduled.
    """
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while True:
        one_pass(inputs)
        count += len(inputs)
        cpu_used = time.process_time() - cpu
        if cpu_used >= seconds:
            return count / cpu_used, count / (time.perf_counter() - wall)


def measure(policy: Policy, seconds: float, children: int = 400) -> dict[str, object]:
    """Decisions per second on this core for the generated mix, and the baseline over the same inputs."""
    inputs = workload(policy, children)
    levels = {Level.NONE: 0, Level.FLAG: 0, Level.SUMMARY: 0, Level.FULL: 0}
    for consents, relationships, viewer, entry in inputs:
        levels[decide(policy, consents, relationships, viewer, entry, NOW).level] += 1
    table = {(v.role, e.category): Level.FULL for _, _, v, e in inputs}

    def baseline(items: list[Inputs]) -> None:
        for _, _, viewer, entry in items:
            table.get((viewer.role, entry.category), Level.NONE)

    def decisions(items: list[Inputs]) -> None:
        for consents, relationships, viewer, entry in items:
            decide(policy, consents, relationships, viewer, entry, NOW)

    _run(decisions, inputs, min(0.5, seconds / 4))  # warm-up
    rate, wall_rate = _run(decisions, inputs, seconds)
    base, wall_base = _run(baseline, inputs, max(1.0, seconds / 2))
    return {
        "decisions_per_second": round(rate),
        "per_core": True,
        "clock": "process CPU time of this single-threaded process (one core)",
        "decisions_per_wall_second": round(wall_rate),
        "baseline_per_second": round(base),
        "baseline_per_wall_second": round(wall_base),
        "baseline": "a dict lookup of (role, category) per input, over the same inputs and loop",
        "ratio_to_baseline": round(rate / base, 4),
        "microseconds_per_decision": round(1e6 / rate, 3),
        "aim_decisions_per_second": 200_000,
        "inputs": len(inputs),
        "levels": {level.value: n for level, n in levels.items()},
        "policy_version": policy.digest,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "cpu_count": os.cpu_count(),
        },
    }


@click.command("consent")
@click.option("--seconds", type=float, default=5.0, show_default=True, help="How long to measure decisions.")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Policy YAML (default: the bundled default policy).",
)
@click.option("--children", type=int, default=400, show_default=True, help="Children in the generated mix.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def consent(seconds: float, policy_path: str | None, children: int, as_json: bool) -> None:
    """Measure consent decisions per second on one core, with a baseline measured in the same run."""
    result = measure(load_policy(policy_path), seconds, children)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{result['decisions_per_second']:,} decisions/s on one core "
        f"({result['microseconds_per_decision']} us each; aim 200,000)"
    )
    click.echo(
        f"baseline {result['baseline_per_second']:,}/s ({result['baseline']}); ratio {result['ratio_to_baseline']}"
    )
    click.echo(json.dumps(result, indent=2))
