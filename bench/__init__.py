"""Benchmarks: the plugin's cost against the SDK floor, the naive design and prometheus_client.

``python -m bench`` (``make bench``) prints a table and writes ``bench/results.json``;
``--quick`` is the CI smoke (it runs everything, asserts nothing about speed).
See docs/performance.md for the method and the goals.
"""
