"""Where policy files are read: the bundled default beside the engine, or an operator's file.

consent_engine parses and compiles policies but never touches the filesystem; this is the one place the hub,
the worker, the benchmarks and the command line read one, so the bundled default is found the same way
everywhere (as hub.directory_file does for the organisation directory).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from consent_engine import Policy, parse_policy
from consent_engine.directory import Directory
from hub.directory_file import load_directory

DEFAULT_POLICY = "consent_engine/policies/default.yaml"
"""How the bundled default policy is named in messages."""


def default_policy_text() -> str:
    """The bundled default policy YAML, read from the installed package."""
    return resources.files("consent_engine.policies").joinpath("default.yaml").read_text(encoding="utf-8")


def read_policy_file(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(text, source) of a policy file, the bundled default when `path` is None."""
    if path is None:
        return default_policy_text(), DEFAULT_POLICY
    return Path(path).read_text(encoding="utf-8"), os.fspath(path)


def load_policy(
    path: str | os.PathLike[str] | None = None, directory: Directory | str | os.PathLike[str] | None = None
) -> Policy:
    """Read, check and compile a policy file with an organisation directory; raise PolicyError or DirectoryError.

    `path` None is the bundled default policy; `directory` is a parsed Directory, a directory file, or None for
    the bundled default directory (consent_engine/policies/organisations.yaml).
    """
    text, source = read_policy_file(path)
    return parse_policy(text, source, directory if isinstance(directory, Directory) else load_directory(directory))
