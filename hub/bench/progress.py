"""Progress output for the benchmark commands: a line per phase, and a tqdm bar per counted phase, on stderr
(stdout carries the JSON results)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from tqdm import tqdm


class Progress:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self._bars: list[tqdm] = []

    def say(self, message: str) -> None:
        """Close the open bars and announce the next phase."""
        for b in self._bars:
            b.close()
        self._bars.clear()
        click.echo(f"bench: {message}", err=True)

    def bar(self, label: str, total: int) -> Callable[[int], None]:
        """A bar for `label`; the callback takes the current count (not an increment). Total 0: unknown."""
        b = tqdm(total=total or None, desc=label, unit=self.unit, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
        self._bars.append(b)

        def update(n: int) -> None:
            b.update(n - b.n)

        return update
