# The flujo releases whose ExecutorCore.execute signature and result types the
# wrapper understands. Other versions get one warning and manual
# instrumentation only.
_instruments = ("flujo >= 0.6, < 0.7",)

DISTRIBUTION = "opentelemetry-instrumentation-flujo"


def install_hint(extra: str) -> str:
    """The one command that installs one of this package's extras."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
