"""The run side (bench.run): scenarios, loads as fractions of capacity, the environment, `bench
conform`, `bench xcheck`'s stopping rule, `bench flamegraph` and `bench serve`.
"""
