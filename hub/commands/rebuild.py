"""`onestory rebuild`: rebuild projections from the SQL event store beside the live ones, then switch."""

from __future__ import annotations

import click
from tqdm import tqdm

from hub.db.engine import engine_for
from hub.db.migrate import upgrade
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.policy_files import load_policy
from hub.settings import HubSettings
from projections.rebuild import Progress
from projections.rebuild import rebuild as run_rebuild
from projections.table_set import PROJECTIONS


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default="var", show_default=True)
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option(
    "--projection",
    "names",
    type=click.Choice(PROJECTIONS),
    multiple=True,
    help="Projection(s) to rebuild and switch; default all. Others are derived but not switched.",
)
@click.option("--policy", "policy_file", default=None, help="Policy YAML (default: the bundled policy).")
@click.option(
    "--directory",
    "directory_file",
    default=None,
    envvar="ONESTORY_DIRECTORY_FILE",
    help="Organisation directory YAML (default: the bundled directory).",
)
@click.option("--chunk", type=int, default=200, show_default=True, help="Children per committed step.")
@click.option(
    "--processes",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="PostgreSQL: rebuild child-id ranges in this many processes at once (about one per core).",
)
def rebuild(
    data_dir: str,
    database: str | None,
    names: tuple[str, ...],
    policy_file: str | None,
    directory_file: str | None,
    chunk: int,
    processes: int,
) -> None:
    """Rebuild projections from the event store; resumes an interrupted rebuild; safe while the hub runs."""
    settings = HubSettings(data_dir=data_dir, database=database)
    engine = engine_for(settings)
    if processes > 1 and engine.dialect.name == "sqlite":
        raise click.UsageError("--processes: SQLite has one writer at a time; rebuild it with one process")
    upgrade(engine)
    bar = tqdm(unit="child", desc="rebuild", dynamic_ncols=True)

    def show(progress: Progress) -> None:
        bar.total = progress.children_total
        bar.n = progress.children_done
        bar.set_postfix(events=progress.events_done)
        bar.refresh()

    result = run_rebuild(
        engine,
        EventCodec.load(),
        load_policy(policy_file, directory_file),
        bundled_rules(),
        list(names) or None,
        chunk=chunk,
        on_progress=show,
        processes=processes,
    )
    bar.close()
    click.echo(
        f"rebuilt {', '.join(names or PROJECTIONS)}: {result.children_done} children, "
        f"{result.events_done} events; switched to the new tables"
    )
