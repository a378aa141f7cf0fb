#!/usr/bin/env sh
# Configure everything with environment variables and export to a collector over OTLP.
# Point OTEL_EXPORTER_OTLP_ENDPOINT at your collector (4317 gRPC, 4318 HTTP).
export OTEL_SERVICE_NAME="${OTEL_SERVICE_NAME:-flujo-demo}"
export OTEL_RESOURCE_ATTRIBUTES="${OTEL_RESOURCE_ATTRIBUTES:-deployment.environment=dev}"
export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4317}"
export OTEL_EXPORTER_OTLP_PROTOCOL="${OTEL_EXPORTER_OTLP_PROTOCOL:-grpc}"
export OTEL_METRIC_EXPORT_INTERVAL="${OTEL_METRIC_EXPORT_INTERVAL:-5000}"
export OTEL_PYTHON_FLUJO_EXCLUDED_METRICS="${OTEL_PYTHON_FLUJO_EXCLUDED_METRICS:-}"
exec flujo-otel demo --duration "${DURATION:-30}"
