"""The toolkit's examples, and the demo's dashboard in a real terminal (tmux)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, ctrl_c, eventually, readline, require

BIN = Path(sys.executable).parent


@pytest.mark.slow  # two demo runs and two reports: ~20 s
def test_record_and_report_example(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(PATH=f"{BIN}:{env['PATH']}", DURATION="1.5")
    result = subprocess.run(["sh", "examples/record_and_report.sh", str(tmp_path)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "report.md").read_text()
    # The second run fails 30 % of attempts instead of 2 %.
    assert "| demo | error.ratio |" in report and "regression" in report
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30,
                          check=True).stdout


HANG_GUARD_S = 600


def _terminal(command: str, width: int, height: int, done: Callable[[str], bool]
              ) -> tuple[str, str]:
    """The screen of ``command`` in a real ``width`` x ``height`` terminal once ``done``
    says so: (plain text, text with colour escapes). No speed is asserted: the wait ends
    when ``done`` holds, or at a hang guard (10 min) that only a stuck demo reaches."""
    require(shutil.which("tmux") is not None, "tmux")
    socket, session = f"flujo-test-{uuid.uuid4().hex[:8]}", "demo"
    # LINES/COLUMNS from the environment would override the terminal's real size.
    _tmux("-L", socket, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
          f"env -u LINES -u COLUMNS {command}; sleep {HANG_GUARD_S}")
    try:
        _wait_for_screen(socket, done)
        screen = _tmux("-L", socket, "capture-pane", "-p", "-e", "-t", session)
        plain = _tmux("-L", socket, "capture-pane", "-p", "-t", session)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], timeout=30, check=False)
    return plain, screen


def test_demo_shows_the_live_dashboard_in_a_terminal() -> None:
    plain, screen = _terminal(
        f"{BIN}/flujo-otel demo --duration 6 --interval 0.5", 150, 60,
        lambda text: "memory.usage" in text and "execution.avg_duration" in text)
    assert re.search(r"Metric +┃", plain) and "demo" in plain  # rich's table, not plain text
    assert " MiB " in plain and " ms " in plain
    assert "\x1b[32m" in screen  # green: an ok status, coloured


def test_demo_in_80x24_keeps_every_row_and_reconciles_its_counts() -> None:
    plain, _ = _terminal(f"{BIN}/flujo-otel demo --duration 4 --interval 0.5", 80, 24,
                         lambda text: "executed:" in text)
    lines = plain.splitlines()
    # Compact layout: every family, the error rows and the last row of the table included.
    for name in ("object_pool.utilization", "memory.usage", "execution.avg_duration",
                 "executions{failure}", "cache.hit_ratio", "concurrency.level", "queue.size",
                 "error.ratio", ".recovery_ratio", ".consecutive_failures",
                 "circuit_breaker.status", "telemetry.batch_size", ".metrics_collected"):
        assert any(name in line for line in lines), (name, plain)
    assert "refreshes:" in plain and "batches" not in plain
    # A healthy demo: no threshold breached, no alert logged.
    assert "ALERT" not in plain, plain
    assert not [line for line in lines if "!" in line and "warning" not in line], plain
    executed, ok, failed = map(int, re.search(
        r"(\d+) executed: (\d+) succeeded, (\d+) failed", plain).groups())
    # The closing lines count what the exported executions{outcome} rows show last.
    success = re.search(r"\{success\}\s+([\d,]+)", plain)
    failure = re.search(r"executions\{failure\}\s+([\d,]+)", plain)
    assert success and failure
    assert (int(success[1].replace(",", "")), int(failure[1].replace(",", ""))) == (ok, failed)
    assert executed == ok + failed


def test_demo_says_when_it_fails_on_purpose_and_marks_the_breaches() -> None:
    plain, _ = _terminal(f"{BIN}/flujo-otel demo --duration 3 --interval 0.5 "
                         "--failure-ratio 0.5", 80, 24, lambda text: "executed:" in text)
    assert "fail on purpose: alerts ahead" in plain
    error = next(line for line in plain.splitlines() if "error.ratio" in line)
    assert re.search(r"error\.ratio\s+[\d.]+% !", error), plain


@pytest.mark.slow
def test_make_demo_installs_only_the_cli_extra_and_runs(tmp_path: Path) -> None:
    """`make demo`'s venv, built from this tree: the demo's dependencies, not the test
    and lint tools of `[dev]` (they took most of a newcomer's first minute)."""
    require(shutil.which("make") is not None, "make")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True, timeout=60).stdout
    for name in files.splitlines():
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "VIRTUAL_ENV"))}
    subprocess.run(["make", f"PYTHON={sys.executable}", ".venv/.demo-stamp"], cwd=tmp_path,
                   env=env, check=True, timeout=900, capture_output=True)
    python = tmp_path / ".venv" / "bin" / "python"
    found = subprocess.run(
        [python, "-c", "import importlib.util as u; print(*(m for m in ('rich', 'pytest', "
         "'mypy', 'ruff', 'hypothesis', 'matplotlib') if u.find_spec(m)))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert found == ["rich"]
    demo = subprocess.run([tmp_path / ".venv" / "bin" / "flujo-otel", "demo", "--duration",
                           "2", "--interval", "0.5"], env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert re.search(r"\d+ executed: \d+ succeeded, \d+ failed", demo.stdout), demo.stdout
    # The README's next step, verbatim: activate, then its pip installs extras into .venv.
    install = (ROOT / "docs" / "readme" / "02-install.md").read_text()
    activate = "`. .venv/bin/activate`"
    extras = '`pip install ".[cli,plots]"`'
    assert activate in install and extras in install
    session = f"{activate.strip('`')} && command -v pip && {extras.strip('`')} && " \
        "python -c 'import matplotlib, opentelemetry.instrumentation.flujo'"
    done = subprocess.run(["sh", "-c", session], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == str(tmp_path / ".venv" / "bin" / "pip")
    # Ctrl-C on `make demo`: the closing counts, and no "make: *** ... Error 130".
    require(shutil.which("tmux") is not None, "tmux")
    socket = f"flujo-test-{uuid.uuid4().hex[:8]}"
    # An interactive shell, as a reader's terminal has: Ctrl-C reaches make and the
    # demo, and the shell stays (a `sh -c` would die with them and close the pane).
    _tmux("-L", socket, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "40",
          f"cd {tmp_path} && env -u LINES -u COLUMNS bash --norc --noprofile -i")
    _tmux("-L", socket, "send-keys", "-t", "demo", "make demo", "Enter")
    try:
        screen = _wait_for_screen(socket, lambda text: "Ctrl-C to quit" in text)
        _tmux("-L", socket, "send-keys", "-t", "demo", "C-c")
        screen = _wait_for_screen(socket, lambda text: "executed:" in text)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], timeout=30, check=False)
    assert "Error 130" not in screen and "Interrupt" not in screen, screen
    assert "Traceback" not in screen, screen


def _wait_for_screen(socket: str, done: Callable[[str], bool]) -> str:
    """The pane's text once ``done`` holds; a failure, with the screen, at the hang guard."""
    screens = [""]

    def shown() -> bool:
        screens[0] = _tmux("-L", socket, "capture-pane", "-p", "-t", "demo")
        return done(screens[0])

    try:
        eventually(shown, "the screen", HANG_GUARD_S, poll_s=0.25)
    except AssertionError as error:
        raise AssertionError(f"{error}; the screen:\n{screens[0]}") from None
    return screens[0]


def test_ctrl_c_ends_the_demo_with_its_closing_counts_and_status_0() -> None:
    """Quitting early is the normal way to leave a demo: not a failure, not a traceback."""
    demo = subprocess.Popen([f"{BIN}/flujo-otel", "demo", "--duration", "600", "--interval",
                             "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    try:
        # Up to the first frame's heading, which says how to quit: running and observed.
        while "Ctrl-C to quit" not in (line := readline(demo.stdout)):
            assert line, "the demo ended without a frame"
        out, err = ctrl_c(demo)
    finally:
        demo.kill()
    assert demo.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"\d+ executed: \d+ succeeded, \d+ failed", out), out


def test_demo_in_120x40_shows_the_full_table_with_limits_that_say_their_side() -> None:
    plain, _ = _terminal(f"{BIN}/flujo-otel demo --duration 4 --interval 0.5", 120, 40,
                         lambda text: "refreshes:" in text and "cache.size" in text)
    assert re.search(r"Warning +┃ +Critical", plain), plain
    assert "in a larger terminal" not in plain
    rows = {line.split("│")[0].strip(): line for line in plain.splitlines()
            if line.count("│") == 4}
    # 80 % of the 128-entry cache is 102.4 entries: a count's limit, said whole.
    assert re.search(r"│\s+> 102 │", rows["cache.size"]), rows["cache.size"]
    assert re.search(r"│\s+< 30% │\s+< 10% │", rows["cache.hit_ratio"])
    assert "Ctrl-C to quit" in plain
