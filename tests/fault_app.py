"""A small instrumented application for the fault suite's subprocess tests.

Usage: python fault_app.py MODE [ARGS]; configured through the standard OTEL_* env.
Prints ``key=value`` lines on stdout for the test to read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from opentelemetry.instrumentation.flujo.demo import ReferenceExecutor


async def _ok(buffer: bytearray) -> int:
    return len(buffer)


def execute(executor: ReferenceExecutor, count: int) -> None:
    async def run() -> None:
        for _ in range(count):
            await executor.execute(_ok)

    asyncio.run(run())


def say(**values: object) -> None:
    print(" ".join(f"{k}={v}" for k, v in values.items()), flush=True)


def import_auto() -> None:
    import opentelemetry.instrumentation.flujo.auto  # noqa: F401

    say(**{"auto-imported": 1})


def phases() -> None:
    """Executes in phases on stdin commands: ``run N`` then ``exit``; reports totals."""
    import opentelemetry.instrumentation.flujo.auto  # noqa: F401
    from opentelemetry.instrumentation.flujo import instrument_executor

    executor = ReferenceExecutor()
    instrument_executor(executor, "app")
    total = 0
    say(ready=1, pid=os.getpid())
    for line in sys.stdin:
        command, *args = line.split()
        if command == "run":
            started = time.perf_counter()
            execute(executor, int(args[0]))
            total += int(args[0])
            say(total=total, seconds=f"{time.perf_counter() - started:.4f}")
        elif command == "exit":
            say(exiting=time.time())
            return


def fork() -> None:
    """Parent and child each report their own executor; both keep exporting."""
    from opentelemetry import metrics

    import opentelemetry.instrumentation.flujo.auto  # noqa: F401
    from opentelemetry.instrumentation.flujo import instrument_executor

    parent = ReferenceExecutor()
    instrument_executor(parent, "parent")
    execute(parent, 5)
    metrics.get_meter_provider().force_flush()  # type: ignore[attr-defined]
    pid = os.fork()
    if pid == 0:
        child = ReferenceExecutor()
        instrument_executor(child, f"child-{os.getpid()}")
        execute(child, 7)
        time.sleep(float(os.environ.get("FAULT_APP_SECONDS", "2")))
        say(child=os.getpid())
        os._exit(0) if os.environ.get("FAULT_APP_HARD_EXIT") else sys.exit(0)
    execute(parent, 3)
    time.sleep(float(os.environ.get("FAULT_APP_SECONDS", "2")))
    _, status = os.waitpid(pid, 0)
    say(parent=os.getpid(), child_status=status)


MODES = {"import-auto": import_auto, "phases": phases, "fork": fork}

if __name__ == "__main__":
    if os.environ.get("FAULT_APP_DEBUG_LOGS"):
        logging.basicConfig(level=logging.DEBUG)
    MODES[sys.argv[1]]()
