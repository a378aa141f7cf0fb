"""The one exception the command line turns into a one-line error and exit status 2."""

from __future__ import annotations

import importlib

from opentelemetry.instrumentation.flujo.package import install_hint


class UsageError(Exception):
    """A problem with the user's input, reported in one line without a traceback."""


def require_extra(what: str, extra: str, *modules: str) -> None:
    """Raise a :class:`UsageError` naming the extra to install when one of ``modules``
    cannot be imported: the missing package is the user's to fix, not a crash."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise UsageError(f"{what} needs {module}: {install_hint(extra)}") from None
