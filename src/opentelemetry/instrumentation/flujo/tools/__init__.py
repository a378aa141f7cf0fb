"""Offline tools behind ``flujo-otel``: the demo, ``top``, ``report`` and the generators
of docs, Prometheus rules and the Grafana dashboard. Never imported by the in-app core.

Two of them are API (docs/api.md): ``tools.top`` (``Dashboard``) and ``tools.demo``
(``ReferenceExecutor``, ``run_workload``, ``Tally``, ``WARM_UP_S``), through their
``__all__``; the rest may change in any release.
"""
