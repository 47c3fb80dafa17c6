"""authbench's harness, in four rooms: `run` (scenarios, the runner, experiments; starts things),
`load` (Locust and the other client, the recorder), `system` (processes, the embedded stores,
the delay proxy, pinning, CPU accounting) and `analysis` (the read side: verdicts, sentences,
plots, report). `cli` and `results` (the results format) stay at the top.
docs/architecture.md draws the rooms and which may import which."""
