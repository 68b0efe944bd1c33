"""Where organisation directory files are read (consent_engine parses them but never touches the filesystem).

`load_directory` is the one way the hub, the connectors and the command line load a directory, so that the
bundled default (consent_engine/policies/organisations.yaml) is found the same way everywhere.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

from consent_engine.directory import Directory

DEFAULT_DIRECTORY = "consent_engine/policies/organisations.yaml"
"""How the bundled default directory is named in messages."""


def default_directory_text() -> str:
    """The bundled default directory YAML, read from the installed package."""
    return resources.files("consent_engine.policies").joinpath("organisations.yaml").read_text(encoding="utf-8")


def read_directory_file(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(text, source) of a directory file, the bundled default when `path` is None."""
    if path is None:
        return default_directory_text(), DEFAULT_DIRECTORY
    return Path(path).read_text(encoding="utf-8"), os.fspath(path)


@cache
def bundled_directory() -> Directory:
    """The bundled directory, parsed once (a Directory is never changed after it is built)."""
    return Directory.parse(default_directory_text(), DEFAULT_DIRECTORY)


def load_directory(path: str | os.PathLike[str] | None = None) -> Directory:
    """Read and check a directory file (the bundled default when `path` is None); raise DirectoryError."""
    if path is None:
        return bundled_directory()
    text, source = read_directory_file(path)
    return Directory.parse(text, source)
