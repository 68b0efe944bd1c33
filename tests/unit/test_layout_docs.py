"""The README's layout table, the import-linter layers and the tree agree: a folder or module that is listed
must exist, and every part of the hub must be listed in both (so none escapes the layer contract)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LAYOUT = README[README.index("## Layout") : README.index("## Development")]


def listed_paths() -> list[str]:
    """The `where` column of each row (the second): folders and modules."""
    rows = [row.split("|") for row in LAYOUT.splitlines() if row.startswith("| ") and not row.startswith("| layer")]
    return [p for cells in rows for p in re.findall(r"`([\w./]+/?)`", cells[2])]


def hub_parts() -> set[str]:
    """hub's packages and top modules, as README paths (`hub/db/`, `hub/stack.py`)."""
    parts = set()
    for entry in (ROOT / "hub").iterdir():
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            parts.add(f"hub/{entry.name}/")
        elif entry.suffix == ".py":
            parts.add(f"hub/{entry.name}")
    return parts


def layer_modules() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"]
    return {m.strip() for line in layers.splitlines() for m in re.split(r"[|:]", line) if m.strip()}


def test_every_listed_folder_and_module_exists() -> None:
    paths = listed_paths()
    assert len(paths) > 20, "the layout table was not found"
    missing = [p for p in paths if not (ROOT / p.rstrip("/")).exists()]
    assert not missing, f"README's layout names what is gone: {missing}"


def test_every_part_of_the_hub_is_in_the_layout_table() -> None:
    unlisted = sorted(hub_parts() - set(listed_paths()))
    assert not unlisted, f"add these to README's layout table: {unlisted}"


def test_every_part_of_the_hub_sits_in_a_layer() -> None:
    modules = layer_modules()
    outside = sorted(
        p for p in hub_parts() if "hub." + p.removeprefix("hub/").removesuffix("/").removesuffix(".py") not in modules
    )
    assert not outside, f"add these to a layer in .importlinter: {outside}"
    for package in ("consent_engine", "projections", "connectors"):
        assert package in modules
