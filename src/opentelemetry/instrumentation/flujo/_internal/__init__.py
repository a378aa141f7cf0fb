"""The in-process core: everything here runs inside the host application and never
raises into it. Nothing here imports ``..tools`` (``tests/test_layout.py``).

The data path of one collection::

    read -> normalise -> snapshot -> instruments -> SDK
                         snapshot -> threshold engine -> alerts

- ``collect``: the executor registry, one stats read per executor per collection
  within a time budget (``fetch``), stats normalised to the catalog's units
  (``normalise``), and the per-name ``snapshot`` every instrument of a collection
  reads.
- ``otel``: the snapshot as OpenTelemetry instruments on a MeterProvider (``binding``,
  ``instruments``), the SDK views, the provider setup and the fork guard.
- ``thresholds``: each snapshot through the threshold engine, into states, limit
  gauges and alert events.
- ``alerts``: events delivered to logging, the Logs API, callables, webhook and SMTP,
  each handler on its own queue and thread.
- ``flujo_hooks``: flujo's ExecutorCore measured by the plugin itself, a stats source
  per executor name.
- ``exporters``: the recording (CSV/JSONL) metric exporters.

``catalog`` is the metric contract (every name, unit and default limit), ``config``
the environment. ``runtime`` is the owner: a ``Runtime`` holds one of each stateful
part above (registry, fetcher, threshold engine, alert dispatcher, flujo sources, fork
guard) for the MeterProviders it serves, and the module keeps only the default
runtime, which the public functions of ``api`` act on.
"""
