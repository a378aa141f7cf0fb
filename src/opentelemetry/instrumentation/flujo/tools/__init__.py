"""Offline tools behind ``flujo-otel``: the demo, ``top``, ``report`` and the generators
of docs, Prometheus rules and the Grafana dashboard. Never imported by the in-app core.
"""
