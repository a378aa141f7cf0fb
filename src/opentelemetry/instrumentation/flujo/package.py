# The flujo releases whose ExecutorCore.execute signature and result types the
# wrapper understands. Other versions get one warning and manual
# instrumentation only.
_instruments = ("flujo >= 0.6, < 0.7",)
