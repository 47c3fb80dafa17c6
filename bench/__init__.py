"""authbench harness: runner, scenarios, Locust user, recorders, micro-benchmarks, plots."""
