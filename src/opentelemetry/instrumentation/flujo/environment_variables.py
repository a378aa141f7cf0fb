"""Environment variables read by the flujo instrumentation.

Every variable is read once, by
:func:`opentelemetry.instrumentation.flujo._internal.config.load_config`.
A value that cannot be used gets one warning naming the variable and the value used
instead; it never raises.
"""

OTEL_PYTHON_FLUJO_ENABLED = "OTEL_PYTHON_FLUJO_ENABLED"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ENABLED

``true`` (default) or ``false``. ``false`` turns the whole instrumentation into a no-op:
no instruments, no patching, no stats reads.
"""

OTEL_PYTHON_FLUJO_EXCLUDED_METRICS = "OTEL_PYTHON_FLUJO_EXCLUDED_METRICS"
"""
.. envvar:: OTEL_PYTHON_FLUJO_EXCLUDED_METRICS

Comma-separated glob patterns of metric names not to create: full names or, as in
threshold rules, names without ``flujo.executor.``, e.g. ``telemetry.*,object_pool.*`` or
``flujo.executor.cache.hit_ratio``. An excluded metric exports no threshold limit or
status either, and raises no alert. A pattern that matches no metric gets one warning.
Default: none.
"""

OTEL_PYTHON_FLUJO_RATE_UNIT = "OTEL_PYTHON_FLUJO_RATE_UNIT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_RATE_UNIT

How the executor reports the guide's percentages (the hit, miss, error, recovery and
contention rates and the pool and cache utilization; "percent or ratio" in the metric
reference): ``percent`` (0..100, default, as in flujo's monitoring guide) or ``ratio``
(0..1). Exported values are ratios.
"""

OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES = "OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES"
"""
.. envvar:: OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES

Cap on distinct ``flujo.executor.name`` values (default 100). Executors past the cap
report under ``_other``.
"""

OTEL_PYTHON_FLUJO_STATS_TIMEOUT = "OTEL_PYTHON_FLUJO_STATS_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_STATS_TIMEOUT

Time budget in milliseconds for reading every executor's stats in one collection
(default 1000), never more than half of the time the reader's collection has left (at
shutdown the SDK allows only the export interval). A source that is not done by then is
reported absent for that collection, counted in
``flujo.otel.collection.errors{reason="timeout"}`` and logged (at most once per
executor name per 10 minutes).
"""

OTEL_PYTHON_FLUJO_CSV_PATH = "OTEL_PYTHON_FLUJO_CSV_PATH"
"""
.. envvar:: OTEL_PYTHON_FLUJO_CSV_PATH

File the ``flujo_csv`` metrics exporter (``OTEL_METRICS_EXPORTER=flujo_csv``) appends
to, one row per data point (default ``flujo_metrics.csv`` in the working directory).
The header is written once; a restarted process appends below the earlier rows.
"""

OTEL_PYTHON_FLUJO_JSONL_PATH = "OTEL_PYTHON_FLUJO_JSONL_PATH"
"""
.. envvar:: OTEL_PYTHON_FLUJO_JSONL_PATH

File the ``flujo_jsonl`` metrics exporter appends to, one JSON object per line and
data point (default ``flujo_metrics.jsonl`` in the working directory).
"""

OTEL_PYTHON_FLUJO_THRESHOLDS = "OTEL_PYTHON_FLUJO_THRESHOLDS"
"""
.. envvar:: OTEL_PYTHON_FLUJO_THRESHOLDS

Threshold overrides, ``metric: level<op>limit, ...; metric: ...``, e.g.
``memory.usage: warning>600MiB, critical>900MiB; cache.hit_ratio: warning<40%``.
Limits carry their unit (``MiB``/``MB``, ``ms``/``s``, ``%`` or a 0..1 ratio, ``/s`` for
counter rates, ``0.9*cache.max`` for relative limits); ``level=off`` or ``metric: off``
removes rules. ``checkout:execution.avg_duration: warning>2s`` scopes an entry to the
executor names a glob matches; the most specific scope wins (syntax:
docs/thresholds.md). A bad entry gets one warning and is ignored.
"""

OTEL_PYTHON_FLUJO_THRESHOLDS_FILE = "OTEL_PYTHON_FLUJO_THRESHOLDS_FILE"
"""
.. envvar:: OTEL_PYTHON_FLUJO_THRESHOLDS_FILE

Path of a TOML file (JSON if it ends in ``.json``, at most 1 MiB) with a table per
metric: ``["memory.usage"]`` ``warning = ">600MiB"``, or per pipeline
``["checkout:memory.usage"]``. Applied before ``OTEL_PYTHON_FLUJO_THRESHOLDS``.
"""

OTEL_PYTHON_FLUJO_THRESHOLD_FOR = "OTEL_PYTHON_FLUJO_THRESHOLD_FOR"
"""
.. envvar:: OTEL_PYTHON_FLUJO_THRESHOLD_FOR

How long a value must stay beyond a limit before its state (warning, critical) is
entered, as a duration (``0s`` default, ``30s``, ``2m``, ``1h30m``). Time, not
collections: how many readers collect, and how often, changes nothing. Also the
default ``for:`` of the generated Prometheus rules.
"""

OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR = "OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR"
"""
.. envvar:: OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR

How long a value must stay within a limit before its state is left, as a duration
(``0s`` default). Also the default ``keep_firing_for:`` of the generated Prometheus
rules.
"""

OTEL_PYTHON_FLUJO_RATIO_WINDOW = "OTEL_PYTHON_FLUJO_RATIO_WINDOW"
"""
.. envvar:: OTEL_PYTHON_FLUJO_RATIO_WINDOW

The sliding window the alerting ratios are computed over, as a duration (``5m``
default; more than ``0s``): ``execution.failure_ratio``, and for flujo's measured
executors ``error.ratio``, ``error.recovery_ratio`` and ``cache.hit_ratio``, in-process
and in the generated Prometheus rules alike. "Since start" stays in the counters.
"""

OTEL_PYTHON_FLUJO_ALERT_QUEUE_SIZE = "OTEL_PYTHON_FLUJO_ALERT_QUEUE_SIZE"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_QUEUE_SIZE

Alert events waiting per handler (default 100). Past it, events for that handler are
dropped and counted in ``flujo.otel.alerts.dropped{reason="queue_full"}``.
"""

OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL = "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL

``http://`` or ``https://`` URL that receives each alert event as a JSON POST (TLS
certificates verified). Treated as a secret: never logged. Default: no webhook.
"""

OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS = "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS

Extra request headers, ``key=value,key2=value2`` (values URL-encoded), e.g.
``Authorization=Bearer%20xyz``. Never logged.
"""

OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT = "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT

Timeout of one webhook request in milliseconds (default 5000).
"""

OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES = "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES

Retries after a failed webhook request (connection error, 429 or 5xx), with exponential
backoff from 0.5 s (default 3).
"""

OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_MIN_LEVEL = "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_MIN_LEVEL"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_MIN_LEVEL

``warning`` (default: every transition) or ``critical`` (only transitions into or out
of critical).
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST = "OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST

SMTP server for e-mail alerts. E-mail is on when this, ``..._SMTP_FROM`` and
``..._SMTP_TO`` are set.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT = "OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT

SMTP port (default 587 for ``starttls``, 465 for ``ssl``, 25 for ``none``).
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_SECURITY = "OTEL_PYTHON_FLUJO_ALERT_SMTP_SECURITY"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_SECURITY

``starttls`` (default), ``ssl`` (implicit TLS) or ``none`` (plain text; only for a
local relay). Certificates are verified.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM = "OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM

Sender address of alert e-mails.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_TO = "OTEL_PYTHON_FLUJO_ALERT_SMTP_TO"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_TO

Comma-separated recipient addresses.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME = "OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME

SMTP login user (optional). Credentials are read only from the environment and never
logged or shown in a repr.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD = "OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD

SMTP login password (with ``..._SMTP_USERNAME``). Never logged.
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_TIMEOUT = "OTEL_PYTHON_FLUJO_ALERT_SMTP_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_TIMEOUT

Timeout of the SMTP conversation in milliseconds (default 10000).
"""

OTEL_PYTHON_FLUJO_ALERT_SMTP_MIN_LEVEL = "OTEL_PYTHON_FLUJO_ALERT_SMTP_MIN_LEVEL"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ALERT_SMTP_MIN_LEVEL

``critical`` (default, as in flujo's monitoring guide: transitions into or out of critical)
or ``warning`` (every transition).
"""

OTEL_PYTHON_FLUJO_MAX_STEP_NAMES = "OTEL_PYTHON_FLUJO_MAX_STEP_NAMES"
"""
.. envvar:: OTEL_PYTHON_FLUJO_MAX_STEP_NAMES

Cap on distinct ``flujo.step.name`` values per executor name on the
``flujo.executor.execution.duration`` histogram (default 100). Step names come from
the pipeline definitions, so they are bounded; steps past the cap record under
``_other``. ``0`` leaves the attribute off.
"""

OTEL_PYTHON_FLUJO_GENAI_METRICS = "OTEL_PYTHON_FLUJO_GENAI_METRICS"
"""
.. envvar:: OTEL_PYTHON_FLUJO_GENAI_METRICS

The GenAI semantic conventions' ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.duration`` for flujo's agent calls: ``auto`` (default) records
them except for an agent whose pydantic-ai instrumentation is on (``Agent.instrument_all()``,
``Agent(instrument=...)``), which records its own; ``on`` records them for every agent
call; ``off`` never. ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
selects the latest experimental attribute names.
"""
