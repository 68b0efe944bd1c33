"""Benchmarks (`onestory bench`): tools, not runtime. What only they need is the `tools` extra of pyproject.toml
(`pip install 'onestory[tools]'`), so a deployment does not carry it; this module imports none of it."""

from __future__ import annotations

import importlib.util

# import names of the `tools` extra (tests/unit/test_runtime_dependencies.py keeps them in step with pyproject.toml)
TOOLS_EXTRA = ("matplotlib", "aiohttp")

INSTALL_TOOLS = "install onestory[tools] (pip install 'onestory[tools]')"


def missing_tools() -> list[str]:
    """The packages of the tools extra this environment lacks (none once `onestory[tools]` is installed)."""
    return [name for name in TOOLS_EXTRA if importlib.util.find_spec(name) is None]


def needs_tools(module: str | None) -> bool:
    """Whether a failed import of `module` means the tools extra is not installed."""
    return module is not None and module.split(".")[0] in TOOLS_EXTRA
