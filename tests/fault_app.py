"""A small instrumented application for the fault suite's subprocess tests.

Usage: python fault_app.py MODE [ARGS]; configured through the standard OTEL_* env.
Prints ``key=value`` lines on stdout for the test to read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time

from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor


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


class SlowOnce:
    """Its first read hangs until the parent releases it after fork(), so it outlasts
    the stats budget and a worker is still reading it when the process forks; later
    reads answer at once, with the reading process' role."""

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid
        self.calls = 0
        self.release = threading.Event()
        self.first_read_done = threading.Event()

    def get_optimization_stats(self) -> dict[str, dict[str, int]]:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)  # the slow read: in flight until after fork()
            self.first_read_done.set()
        total = 1 if os.getpid() == self.parent_pid else 2
        return {"execution": {"total_executions": total, "successful_executions": total,
                              "failed_executions": 0}}


# Executors are held by weak reference: these are read by the export at exit, after
# fork() has returned (or raised SystemExit in the child).
KEPT: list[object] = []


def fork() -> None:
    """Parent and child each report their own executors, exported at exit."""
    import opentelemetry.instrumentation.flujo.auto  # noqa: F401
    from opentelemetry import metrics
    from opentelemetry.instrumentation.flujo import instrument_executor

    parent = ReferenceExecutor()
    instrument_executor(parent, "parent")
    slow = SlowOnce(os.getpid())
    instrument_executor(slow, "slow")
    KEPT.extend((parent, slow))
    execute(parent, 5)
    # a collection now: "slow" times out and stays in flight on a worker thread
    metrics.get_meter_provider().force_flush()  # type: ignore[attr-defined]
    pid = os.fork()
    if pid == 0:
        child = ReferenceExecutor()
        KEPT.append(child)
        instrument_executor(child, f"child-{os.getpid()}")
        execute(child, 7)
        execute(parent, 1)  # the child's copy of a pre-fork executor is its own
        say(child=os.getpid())
        sys.exit(0)  # its export at exit reads the source fork() left in flight again
    execute(parent, 3)
    slow.release.set()
    # the parent's worker returns from the slow read: the export at exit reads it again
    if not slow.first_read_done.wait(30):
        sys.exit("the slow source's first read never returned")
    _, status = os.waitpid(pid, 0)
    say(parent=os.getpid(), child=pid, child_status=status)


MODES = {"import-auto": import_auto, "phases": phases, "fork": fork}

if __name__ == "__main__":
    if os.environ.get("FAULT_APP_DEBUG_LOGS"):
        logging.basicConfig(level=logging.DEBUG)
    MODES[sys.argv[1]]()
