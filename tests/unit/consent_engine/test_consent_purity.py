"""consent_engine is pure: no I/O, no clock, no randomness; and docs/policy.md is generated from the YAML."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import consent_engine
from consent_engine import render_markdown

from .builders import ROOT, default_policy

PACKAGE = Path(consent_engine.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))

# Modules that do I/O (files, network, databases, brokers, processes), read clocks or draw random numbers.
DENIED = {
    "os",
    "pathlib",
    "io",
    "shutil",
    "tempfile",
    "glob",
    "fileinput",
    "socket",
    "ssl",
    "select",
    "selectors",
    "asyncio",
    "subprocess",
    "multiprocessing",
    "threading",
    "concurrent",
    "signal",
    "http",
    "urllib",
    "requests",
    "httpx",
    "aiohttp",
    "sqlite3",
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "alembic",
    "confluent_kafka",
    "aiokafka",
    "kafka",
    "faust",
    "fastapi",
    "starlette",
    "uvicorn",
    "logging",
    "time",
    "random",
    "secrets",
    "uuid",
    "importlib",
    "pickle",
    "shelve",
    "dbm",
    "mmap",
    "ctypes",
    "click",
    "hub",
    "projections",
    "connectors",
}
DENIED_CALLS = {"open", "input", "print", "eval", "exec", "compile", "__import__", "breakpoint"}
CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def test_every_module_is_checked() -> None:
    names = {path.name for path in MODULES}
    assert {"decide.py", "consent_state.py", "policy_parse.py", "model.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_and_calls_nothing_impure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            roots = set()
        assert not roots & DENIED, f"{path.name}:{getattr(node, 'lineno', 0)} imports {roots & DENIED}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id not in DENIED_CALLS, f"{path.name}:{node.lineno} calls {func.id}()"
            if isinstance(func, ast.Attribute):
                assert func.attr not in CLOCK_READS, f"{path.name}:{node.lineno} reads a clock: .{func.attr}()"
        if isinstance(node, ast.Global | ast.Nonlocal):
            pytest.fail(f"{path.name}:{node.lineno} rebinds a global")


def test_importing_the_engine_loads_no_io_modules() -> None:
    modules = [
        f"consent_engine.{p.relative_to(PACKAGE).with_suffix('').as_posix().replace('/', '.')}"
        for p in MODULES
        if p.name != "__init__.py"
    ]
    code = (
        "import json, sys\nbefore = set(sys.modules)\nimport consent_engine\n"
        + "".join(f"import {name}\n" for name in modules)
        + "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    )
    io_modules = {
        "socket",
        "ssl",
        "sqlite3",
        "sqlalchemy",
        "psycopg",
        "confluent_kafka",
        "aiokafka",
        "faust",
        "httpx",
        "fastapi",
        "starlette",
        "asyncio",
        "subprocess",
        "http",
        "urllib.request",
        "requests",
        "multiprocessing",
        "threading",
        "click",
        "hub",
        "projections",
    }
    assert not {m for m in loaded if m in io_modules or m.split(".")[0] in io_modules}


def test_docs_policy_md_is_up_to_date() -> None:
    """docs/policy.md is generated: `onestory policy render consent_engine/policies/default.yaml > docs/policy.md`."""
    docs = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert docs == render_markdown(default_policy()), "regenerate docs/policy.md with `onestory policy render`"
