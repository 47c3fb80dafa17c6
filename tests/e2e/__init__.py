"""End to end, through the CLI or the runner: real PostgreSQL, real servers, real Locust. A tiny
bench run, the load curve, Locust's distributed mode across loopback addresses, the full
scenario's experiments.
"""
