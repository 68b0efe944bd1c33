"""`onestory bench`: one subcommand per benchmark, each in its own module (hub/commands/bench_<name>.py).

Benchmarks are imported only when run, so a broken or slow-to-import benchmark cannot affect the others.
To add one, write `hub/commands/bench_<name>.py` with a click command and add a line to `_BENCHES`. They need
the `tools` extra: without it every benchmark refuses at once (one line, exit 2) rather than fail at its plot.
"""

from __future__ import annotations

import importlib

import click

from hub.bench import INSTALL_TOOLS, missing_tools

# name -> "module:attribute" of a click command
_BENCHES: dict[str, str] = {
    "connectors": "hub.commands.bench_connectors:connectors",
    "consent": "hub.commands.bench_consent:consent",
    "identity": "hub.commands.bench_identity:identity",
    "pipeline": "hub.commands.bench_pipeline:pipeline",
    "read": "hub.commands.bench_read:read",
}


class _LazyBenches(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        missing = missing_tools()
        if missing:
            click.echo(f"error: the benchmarks need {', '.join(missing)}: {INSTALL_TOOLS}", err=True)
            ctx.exit(2)
        return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_BENCHES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _BENCHES.get(cmd_name)
        if target is None:
            return self.commands.get(cmd_name)
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise click.ClickException(f"{target} is not a click command")
        return command


@click.group(cls=_LazyBenches)
def bench() -> None:
    """Benchmarks: each prints its figure with machine info and a baseline measured in the same run."""
