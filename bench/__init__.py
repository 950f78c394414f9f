"""`make bench`: Notify's performance benchmark (docs/benchmark.md).

Everything runs in one command and one run, so the ratios it reports (end-to-end vs the bare
provider-SDK ceiling, vs the one-task-per-delivery baseline) compare figures taken on the same
machine, under the same load, minutes apart."""
