"""Tools stay out of the runtime: the benchmarks' packages are the `tools` extra, nothing a deployment imports
pulls them in, and a runtime install says in one line how to get them when a benchmark is asked for."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hub import cli
from hub.bench import TOOLS_EXTRA

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
TOOLS = [Requirement(r) for r in PROJECT["optional-dependencies"]["tools"]]

# what each deployable imports: the API, the worker, the stack `up` runs, and the demo region it loads
RUNTIME_MODULES = (
    "hub.stack",
    "hub.api.main",
    "hub.commands.worker",
    "hub.commands.serve",
    "hub.commands.up",
    "hub.region.demo",
    "hub.synth.sources",
    "hub.synth.replay",
)


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements bring in, as installed here (extras of a dependency followed)."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(req.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            dep = Requirement(line)
            wanted = [{"extra": extra} for extra in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in wanted):
                todo.append(dep)
    return seen


def test_the_runtime_dependencies_leave_the_tools_to_the_extra() -> None:
    runtime = {canonicalize_name(r.name) for r in RUNTIME}
    tools = {canonicalize_name(r.name) for r in TOOLS}
    assert "matplotlib" in tools
    assert not runtime & tools
    assert tools == {canonicalize_name(name) for name in TOOLS_EXTRA}  # what the CLI checks is the extra


def test_no_runtime_dependency_brings_matplotlib_in() -> None:
    assert "matplotlib" not in _closure(RUNTIME)


def test_the_deployables_import_no_tool() -> None:
    probe = f"import sys, {', '.join(RUNTIME_MODULES)}\nprint(sorted(set(sys.modules) & {set(TOOLS_EXTRA)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "matplotlib" not in result.stdout
    assert result.stdout.strip() == "[]"


def test_the_dockerfile_installs_the_runtime_only() -> None:
    installs = re.findall(r"\bpip install (\S+)", (ROOT / "Dockerfile").read_text())
    assert installs == ["."]


def test_make_test_installs_the_tools() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "'.[dev,tools]'" in makefile


def test_a_benchmark_without_the_tools_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in a runtime install: not importable
    result = CliRunner().invoke(cli.main, ["bench", "pipeline", "--quick"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert "onestory[tools]" in result.output and "matplotlib" in result.output


def test_the_benchmarks_list_without_the_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(cli.main, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    assert "pipeline" in result.output


def test_a_command_missing_a_tool_at_import_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    def plot() -> None:
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib.pyplot")

    module = type(sys)("tests_fake_plot")
    module.plot = plot  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_fake_plot", module)
    monkeypatch.setitem(cli._COMMANDS, "plot", "tests_fake_plot:plot")
    result = CliRunner().invoke(cli.main, ["plot"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "onestory[tools]" in result.output


def test_a_missing_runtime_module_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    def broken() -> None:
        raise ModuleNotFoundError("No module named 'nothere'", name="nothere")

    module = type(sys)("tests_fake_broken")
    module.broken = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_fake_broken", module)
    monkeypatch.setitem(cli._COMMANDS, "broken", "tests_fake_broken:broken")
    result = CliRunner().invoke(cli.main, ["broken"])
    assert isinstance(result.exception, ModuleNotFoundError)
