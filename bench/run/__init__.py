"""The run side: scenarios (data) and their parser, the runner and the cell lifecycle, the
revocation and outage experiments, micro-benchmarks, flame graphs, environment capture,
`make serve` and `make watch`. Everything here may start processes; it writes results."""
