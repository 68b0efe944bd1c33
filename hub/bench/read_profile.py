"""One read in process, under cProfile or a CPU clock: where a timeline or `$everything` read spends its time.

`onestory bench read` measures over real HTTP against a subprocess; this builds the same child (the bench's
workload through identity and the projector) and calls the real route handlers in this thread, audit write
included (the group-commit writer's thread is counted in the process CPU, not in the profile), so the profile
shows the read itself without HTTP. `python -m hub.bench.read_profile [--entries N] [--only timeline]`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.settings import HubSettings


def _readers(settings: HubSettings, database: str, child_id: str) -> dict[str, Callable[[], Any]]:
    from starlette.requests import Request

    from hub.api.routes import fhir, timeline
    from hub.auth.tokens import Principal
    from hub.bench.workload import GP
    from hub.db.engine import make_engine
    from hub.events.codec import EventCodec
    from hub.fhir.search import catalogue
    from hub.stack import api_context

    async def health() -> dict[str, Any]:
        return {"database": {"status": "ok"}}

    ctx = api_context(settings, make_engine(database), EventCodec.load(), health)
    viewer = Principal("bench-gp", GP, "gp", "direct-care", ("user/*.read",))
    path = f"/fhir/Patient/{child_id}/$everything"
    scope = {
        "type": "http", "method": "GET", "path": path, "query_string": b"_count=50", "headers": [],
        "server": ("127.0.0.1", 8080), "scheme": "http", "root_path": "",
    }  # fmt: skip
    search = catalogue().check("Patient/$everything", [("_count", "50")], False)

    def read_timeline() -> Any:
        return timeline._read(ctx, viewer, "127.0.0.1", child_id, "timeline", timeline._timeline_body).body

    def read_everything() -> Any:
        request = Request(scope)
        return fhir.everything(request, child_id, ctx, viewer, "127.0.0.1", search, count=50).body

    return {"timeline": read_timeline, "everything": read_everything}


def main() -> None:
    from hub.bench.read import build_child

    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--database", default=None)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--only", choices=("timeline", "everything"), default=None)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="onestory-read-profile-") as tmp:
        workdir = Path(tmp)
        database = args.database or f"sqlite:///{workdir / 'bench.db'}"
        child_id, rows = build_child(database, args.entries, 1)
        settings = HubSettings(database=database, data_dir=workdir)  # this script's entry point builds them
        for name, read in _readers(settings, database, child_id).items():
            if args.only and name != args.only:
                continue
            for _ in range(20):
                read()
            t0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.reads):
                size = len(read())
            cpu = (time.process_time() - t0) * 1000 / args.reads
            wall = (time.perf_counter() - w0) * 1000 / args.reads
            print(f"{name}: {cpu:.2f} ms CPU, {wall:.2f} ms wall per read ({rows} rows, {size} bytes)")
            if args.no_profile:
                continue
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.reads):
                read()
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
