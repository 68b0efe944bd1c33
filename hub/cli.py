"""The `onestory` command line: one click group, each family of subcommands in its own module.

Subcommand modules are imported lazily so that `onestory --help` stays fast and a broken optional
module (e.g. a benchmark) cannot stop the hub from starting. A runtime install (no `tools` extra) runs every
command but `bench`, which says in one line to install onestory[tools].
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group
_COMMANDS: dict[str, str] = {
    "up": "hub.commands.up:up",
    "worker": "hub.commands.worker:worker",
    "token": "hub.commands.token:token",
    "policy": "hub.commands.policy:policy",
    "orgs": "hub.commands.orgs:orgs",
    "bench": "hub.commands.bench:bench",
    "deadletter": "hub.commands.deadletter:deadletter",
    "migrate": "hub.commands.migrate:migrate",
    "topics": "hub.commands.topics:topics",
    "api": "hub.commands.serve:api",
    "mllp": "hub.commands.serve:mllp",
    "rebuild": "hub.commands.rebuild:rebuild",
    "log": "hub.commands.log:log",
    "audit": "hub.commands.audit:audit",
    "identity": "hub.commands.identity:identity",
    "synth": "hub.commands.synth:synth",
    "subscriptions": "hub.commands.subscriptions:subscriptions_cli",
    "send": "hub.commands.send:send",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used.

    Every subcommand runs inside `invoke`, so configuration and connection failures (hub.failures) become one
    or two lines and exit code 2 for all of them; `--debug` shows the traceback. Other errors keep theirs.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            from hub.bench import INSTALL_TOOLS, needs_tools

            if ctx.params.get("debug") or not needs_tools(exc.name):
                raise
            click.echo(f"error: {exc.name} is not installed: {INSTALL_TOOLS}", err=True)
            ctx.exit(2)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            from hub.failures import DEBUG_HINT, explain

            explained = explain(exc)
            if explained is None:
                raise
            what, fix = explained
            click.echo(f"error: {what}", err=True)
            click.echo(f"fix: {fix} ({DEBUG_HINT})", err=True)
            ctx.exit(2)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise click.ClickException(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug",
    is_flag=True,
    envvar="ONESTORY_DEBUG",
    help="Show the traceback of configuration and connection errors instead of a short message.",
)
def main(debug: bool) -> None:
    """OneStory: one shared, consent-checked story of a child across health, education, social care and VCSE."""
