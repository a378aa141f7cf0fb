"""The in-process core: everything here runs inside the host application and never
raises into it. Nothing here imports ``..tools``.

The data path, one folder per stage:

- ``collect``: the executor registry, one stats fetch per executor per collection
  (``fetch``), stats normalised to the catalog's units (``normalise``), and the
  per-name ``snapshot`` every instrument of a collection reads.
- ``otel``: the snapshot as OpenTelemetry instruments on a MeterProvider (``binding``,
  ``instruments``), the SDK views, the provider setup and the fork guard.
- ``thresholds``: the snapshot through the threshold engine, into states and events.
- ``alerts``: events delivered to logging, the Logs API, callables, webhook and SMTP.
- ``flujo_hooks``: flujo's ExecutorCore measured by the plugin itself.
- ``exporters``: the recording (CSV/JSONL) metric exporters.

``catalog`` is the metric contract, ``config`` the environment, ``runtime`` the owner.
"""
