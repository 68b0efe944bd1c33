"""The image the chart runs: the Dockerfile's layout (code in /app on PYTHONPATH, schemas beside it) works
outside the repository, and the Dockerfile keeps the properties the chart relies on. The image itself
cannot be built here (no registry for base images), so the layout is reproduced in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COPIED = [src for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M) for src in line.split()[:-1]]

PROBE = """
import hub, hub.events.codec as codec, hub.db.migrate as migrate
from connectors.hl7v2.map import Hl7Mapping
from hub.cli import _COMMANDS
assert hub.__file__.startswith(APP), hub.__file__
assert str(codec.default_schema_dir()).startswith(APP)
codec.EventCodec.load()
assert (migrate.MIGRATIONS / "env.py").is_file()
Hl7Mapping.bundled()
assert {"api", "mllp", "worker", "migrate", "topics"} <= set(_COMMANDS)
print("ok")
"""


def test_code_copied_as_the_dockerfile_does_finds_its_schemas_outside_the_repository(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, app / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, app / name)
    elsewhere = tmp_path / "workdir"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(app), "APP": str(app)}
    result = subprocess.run(
        [sys.executable, "-c", f"import os; APP = os.environ['APP'] + '/'\n{PROBE}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_dockerfile_is_slim_non_root_and_ships_the_schemas() -> None:
    assert re.search(r"^FROM python:3\.11-slim$", DOCKERFILE, re.M)
    assert {"hub", "connectors", "projections", "consent_engine", "schemas", "pyproject.toml"} <= set(COPIED)
    assert "PYTHONPATH=/app" in DOCKERFILE
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    assert re.search(r'^ENTRYPOINT \["onestory"\]$', DOCKERFILE, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "tests"} <= set(ignored)
