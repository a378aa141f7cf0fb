"""OpenTelemetry wiring: instruments on a MeterProvider, SDK views, provider setup, fork guard."""
