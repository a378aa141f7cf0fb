#!/bin/sh
# The guide's PerformanceTracker, TrendAnalyzer, RegressionDetector, MetricsVisualizer and
# PerformanceReportGenerator: record with the flujo_csv exporter, then report.
#
#   sh examples/record_and_report.sh [DIR]
#
# Two short demo runs (a baseline, then a run with more failures) are recorded through
# OTEL_METRICS_EXPORTER; the report compares them, and draws one chart per metric when
# matplotlib is installed. An application records the same way:
#   OTEL_METRICS_EXPORTER=otlp,flujo_csv opentelemetry-instrument python app.py
set -eu
DIR=${1:-flujo-report}
DURATION=${DURATION:-4}
mkdir -p "$DIR"
export OTEL_METRICS_EXPORTER=flujo_csv OTEL_METRIC_EXPORT_INTERVAL=${OTEL_METRIC_EXPORT_INTERVAL:-500}

OTEL_PYTHON_FLUJO_CSV_PATH="$DIR/baseline.csv" \
  flujo-otel demo --duration "$DURATION" --failure-ratio 0.02 >/dev/null
OTEL_PYTHON_FLUJO_CSV_PATH="$DIR/current.csv" \
  flujo-otel demo --duration "$DURATION" --failure-ratio 0.3 >/dev/null

PLOTS=""
if python -c "import matplotlib" 2>/dev/null; then PLOTS="--plots $DIR/plots"; fi
# shellcheck disable=SC2086 # PLOTS is empty or two words
flujo-otel report "$DIR/current.csv" --baseline "$DIR/baseline.csv" $PLOTS \
  --output "$DIR/report.md"
flujo-otel report "$DIR/current.csv" --baseline "$DIR/baseline.csv" --format html \
  --output "$DIR/report.html"
echo "wrote $DIR/report.md and $DIR/report.html"
