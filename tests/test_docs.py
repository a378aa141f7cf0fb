"""The README and docs/ as a newcomer meets them: links resolve, tables are whole, the
names exist, and the README's code runs as written (the quick start verbatim)."""

from __future__ import annotations

import ast
import itertools
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo import environment_variables
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo.tools.cli import build_parser

from conftest import ROOT
from receivers import GrpcReceiver, latest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

README = ROOT / "README.md"
# docs/readme/ holds the README's parts: checked as the README they become.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
REFERENCE_LINK = re.compile(r"^\[[^\]]+\]:\s*(\S+)", re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text without code blocks: what Markdown renders as links and tables."""
    return FENCE.sub("", text)


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", prose(path.read_text()), re.M)
    return {slug(h) for h in headings}


def relative_links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", prose(path.read_text()))
    links = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [link for link in links if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    for link in relative_links(page):
        target, _, anchor = link.partition("#")
        resolved = (page.parent / target).resolve() if target else page
        assert resolved.exists(), f"{page.name}: {link} -> {resolved} does not exist"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading for #{anchor}"


def test_every_link_target_ships_in_the_sdist() -> None:
    """The README is also the sdist's; its links must resolve in an unpacked sdist."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = set(pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    for page in PAGES:
        for link in relative_links(page):
            path = link.partition("#")[0]
            target = (page.parent / path).resolve().relative_to(ROOT)
            assert not path or target.parts[0] in shipped, f"{page.name}: {link} not in the sdist"


def cells(row: str) -> int:
    """Cells of a table row: a `|` splits cells unless escaped, even inside code."""
    return len(re.split(r"(?<!\\)\|", row.strip().removeprefix("|").removesuffix("|")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_row_has_its_headers_cells(page: Path) -> None:
    lines = prose(page.read_text()).splitlines()
    tables = 0
    for number, (header, delimiter) in enumerate(itertools.pairwise(lines)):
        if not (header.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", delimiter)):
            continue
        tables += 1
        width = cells(header)
        assert cells(delimiter) == width, f"{page.name}:{number + 2}"
        for offset, line in enumerate(lines[number + 2:], start=number + 3):
            if not line.startswith("|"):
                break
            assert cells(line) == width, f"{page.name}:{offset}: {cells(line)} cells, not {width}"
    assert tables or page.name != "README.md"


def test_every_variable_named_exists() -> None:
    declared = {name for name in vars(environment_variables) if name.startswith("OTEL_PYTHON")}
    for page in PAGES:
        for name in re.findall(r"OTEL_PYTHON_FLUJO_[A-Z0-9_]*[A-Z0-9]", page.read_text()):
            assert name in declared, f"{page.name} names {name}, which does not exist"


def test_the_readme_stays_a_short_guide() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= 260, f"README.md has {lines} lines: move reference material to docs/"


def threshold_examples(text: str) -> list[str]:
    """Every threshold text shown: the variable's values, set_thresholds() arguments and
    the examples in the variable's table rows."""
    examples = re.findall(r'OTEL_PYTHON_FLUJO_THRESHOLDS="([^"]*)"', text)
    for body in blocks(text, "python"):
        examples += [node.args[0].value for node in ast.walk(ast.parse(body))
                     if isinstance(node, ast.Call) and getattr(node.func, "id", "")
                     == "set_thresholds" and isinstance(node.args[0], ast.Constant)]
    for row in re.findall(r"^\| `OTEL_PYTHON_FLUJO_THRESHOLDS` \|.*$", text, re.M):
        examples += [span.strip("`") for span in CODE_SPAN.findall(row)
                     if re.search(r": (warning|critical)", span) and "<op>" not in span]
    return examples


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_threshold_example_is_accepted_as_shown(page: Path, tmp_path: Path) -> None:
    text = page.read_text()
    environments = [{"OTEL_PYTHON_FLUJO_THRESHOLDS": example}
                    for example in threshold_examples(text)]
    for number, body in enumerate(blocks(text, "toml")):
        (tmp_path / f"{number}.toml").write_text(body)
        environments.append({"OTEL_PYTHON_FLUJO_THRESHOLDS_FILE": str(tmp_path / f"{number}.toml")})
    for environ in environments:
        problems: list[str] = []
        effective_rules(load_config(environ), warn=problems.append)
        assert not problems, (page.name, environ, problems)
    assert environments or page.name not in ("README.md", "thresholds.md")


def shell_lines(text: str) -> list[list[str]]:
    """The commands of the sh blocks, continuation lines joined, env assignments dropped."""
    commands = []
    for body in blocks(text, "sh"):
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.match(r"\w+=", words[0]):
                words.pop(0)
            if words:
                commands.append(words)
    return commands


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_commands_shown_exist_with_their_options(page: Path) -> None:
    """Each `flujo-otel` line parses as written; each `make` target exists."""
    makefile = (ROOT / "Makefile").read_text()
    for words in shell_lines(page.read_text()):
        if words[0] == "flujo-otel" and not any("[" in w or "|" in w for w in words):
            build_parser().parse_args(words[1:])  # exits (fails the test) on a bad option
        elif words[0] == "make":
            for target in words[1:]:
                assert re.search(rf"^{target}:", makefile, re.M), f"{page.name}: make {target}"


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_in_docs_pages_compiles(page: Path) -> None:
    for body in blocks(page.read_text(), "python"):
        ast.parse(body)


def clean_env(path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(PATH=f"{path}:{env['PATH']}", **extra)
    return env


def run_quick_start(tmp_path: Path, bin_dir: Path) -> None:
    """The quick start's script and console session, run as a reader would, verbatim."""
    text = section(README.read_text(), "Quick start")
    (tmp_path / "quickstart.py").write_text(blocks(text, "python")[0])
    session = blocks(text, "console")[0].splitlines()
    starts = [i for i, line in enumerate(session) if line.startswith("$ ")]
    for start, end in zip(starts, [*starts[1:], len(session)], strict=True):
        result = subprocess.run(session[start][2:], shell=True, cwd=tmp_path,
                                env=clean_env(bin_dir), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout
        assert result.stdout.splitlines() == session[start + 1:end], session[start]


def test_the_quick_start_runs_verbatim_and_prints_what_it_shows(tmp_path: Path) -> None:
    run_quick_start(tmp_path, BIN)


def test_the_quick_start_run_again_prints_the_same(tmp_path: Path) -> None:
    """The recording file is appended to (workers and restarts share it): the session
    starts it afresh, so a second run shows the same rows, not twice as many."""
    run_quick_start(tmp_path, BIN)
    run_quick_start(tmp_path, BIN)


def test_the_quick_start_exports_over_otlp_as_it_says(tmp_path: Path) -> None:
    text = section(README.read_text(), "Quick start")
    (tmp_path / "quickstart.py").write_text(blocks(text, "python")[0])
    command = next(span.strip("`") for span in CODE_SPAN.findall(text)
                   if "OTEL_EXPORTER_OTLP_ENDPOINT=" in span)
    with GrpcReceiver() as receiver:
        command = re.sub(r"http://localhost:\d+", receiver.endpoint, command)
        subprocess.run(command, shell=True, cwd=tmp_path, env=clean_env(BIN), timeout=120,
                       check=True, capture_output=True)
        points = receiver.wait_for(lambda ps: any(p.metric == "flujo.executor.cache.hit_ratio"
                                                  for p in ps))
    assert latest(points, "flujo.executor.cache.hit_ratio",
                  **{"flujo.executor.name": "checkout"}).value == pytest.approx(0.72)


def test_the_readmes_other_python_runs(tmp_path: Path) -> None:
    text = README.read_text()
    quick_start = blocks(section(text, "Quick start"), "python")
    others = [body for body in blocks(text, "python") if body not in quick_start]
    assert others
    with GrpcReceiver() as receiver:
        for number, body in enumerate(others):
            script = tmp_path / f"block{number}.py"
            script.write_text(body)
            result = subprocess.run(
                [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                env=clean_env(BIN, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint),
                timeout=120, check=False)
            assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow
def test_the_readmes_install_commands_work_in_a_fresh_environment(tmp_path: Path) -> None:
    """The install block, verbatim, in a new virtual environment; then the quick start
    and the command line that the extras enable."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True,
                   timeout=120)
    venv = tmp_path / "venv" / "bin"
    install = section(README.read_text(), "Install")
    commands = [words for words in shell_lines(install) if words[0] == "pip"]
    assert [words[:2] for words in commands] == [["pip", "install"]] * 2
    for words in commands:
        subprocess.run(words, cwd=ROOT, env=clean_env(venv), check=True, timeout=900)
    work = tmp_path / "work"
    work.mkdir()
    run_quick_start(work, venv)
    subprocess.run(["flujo-otel", "top", "--help"], env=clean_env(venv), check=True,
                   timeout=60, capture_output=True)


@pytest.mark.slow
def test_a_wheel_builds_as_the_readme_says_with_the_readme_as_its_description(
        tmp_path: Path) -> None:
    install = section(README.read_text(), "Install")
    command = "pip wheel --no-deps -w dist ."
    assert command in install
    subprocess.run([sys.executable, "-m", *command.replace("dist", str(tmp_path)).split()],
                   cwd=ROOT, check=True, timeout=600, capture_output=True)
    wheel = next(tmp_path.glob("opentelemetry_instrumentation_flujo-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(name).decode() for name in archive.namelist()
                        if name.endswith(".dist-info/METADATA"))
        assert any(name.endswith("tools/cli/__init__.py") for name in archive.namelist())
    assert "Description-Content-Type: text/markdown" in metadata
    assert "## Quick start" in metadata
