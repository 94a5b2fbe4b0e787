"""The repository's shape, by grep: one definition of each shared thing, and nothing that reads
a path outside the repository (a fresh clone with nothing beside it must pass ``make test``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELF = Path(__file__).resolve()


def tracked(*suffixes: str) -> dict[Path, str]:
    """Every file git tracks (or would: untracked, not ignored) with one of the suffixes."""
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    files = [ROOT / n for n in names if n.endswith(suffixes) or Path(n).name in suffixes]
    return {f: f.read_text(errors="replace") for f in files if f.is_file() and f.resolve() != SELF}


ONE_DEFINITION = {
    "the signature key": r"4dabf18193072939515e22adb298388d",
    "the secret signature": r"1b47061264138c4ac30d75fd1eb44270",
    "the resource signature": r"5cf8f73096256a8f31e491e813e4eb8e",
    "the unknown sentinel": r"04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "a wire constant by name": r"(?m)^(SIG|SIG_KEY|SECRET_SIG|RESOURCE_SIG|UNKNOWN|REDACTED)\s*=",
    "Violation": r"(?m)^class Violation\b",
    "CheckResult": r"(?m)^class CheckResult\b",
    "Suppression": r"(?m)^class Suppression\b",
    "the environment lookup": r"(?m)^\s*def environment_of\b",
    "the usage error": r"(?m)^class \w*(Usage|Input|StackFile)Error\b",
    "the exit codes": r"(?m)^\s*EXIT_\w+(\s*,\s*EXIT_\w+)*\s*=",
}


@pytest.mark.parametrize("what", ONE_DEFINITION)
def test_one_definition(what: str) -> None:
    pattern = re.compile(ONE_DEFINITION[what])
    found = [str(f.relative_to(ROOT)) for f, text in tracked(".py").items() if pattern.search(text)]
    assert len(found) == 1, f"{what} is defined in {found}: define it once (tools/wire.py, report.py, cli.py, " \
                            "offline/facts.py) and import it"


def test_tools_take_root_from_cli() -> None:
    found = [str(f.relative_to(ROOT)) for f, text in tracked(".py").items()
             if f.is_relative_to(ROOT / "tools") and re.search(r"(?m)^ROOT\s*=", text)]
    assert found == ["tools/cli.py"], found


def test_only_facts_reads_a_stack_files_environment() -> None:
    readers = [str(f.relative_to(ROOT)) for f, text in tracked(".py", "Makefile", ".yml", ".sh").items()
               if not f.is_relative_to(ROOT / "tests") and f.name != "config.py"
               and re.search(r"platform:environment", text) and f.name != "facts.py"
               and f.suffix != ".yaml"]
    assert readers == [], f"{readers} read platform:environment themselves: ask tools.offline.facts"


OUTSIDE = re.compile(r"\.\./shared|ROOT\.parent\b|parents\[[3-9]\]|\.parent\.parent\.parent|/work/|POLICY_MATRIX")
EXPLICIT_INPUTS = {(".ci/run", 'export PLATFORM_CHARTS="$(pwd)/../shared/charts"')}
"""The one allowed exception: CI hands the chart folder beside its clone to the tools, explicitly."""


def test_nothing_reads_a_path_outside_the_repository() -> None:
    hits = [f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
            for f, text in tracked(".py", ".md", ".yml", ".yaml", ".toml", ".sh", ".txt", ".json", "Makefile", "run").items()
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line) and (str(f.relative_to(ROOT)), line.strip()) not in EXPLICIT_INPUTS]
    assert hits == [], "paths outside the repository (a fresh clone has nothing beside it):\n" + "\n".join(hits)


def test_no_test_imports_from_conftest() -> None:
    hits = [str(f.relative_to(ROOT)) for f, text in tracked(".py").items()
            if re.search(r"(?m)^\s*(from conftest import|import conftest)", text)]
    assert hits == [], f"{hits}: import shared helpers from tests/helpers.py, or use a fixture"
