"""The load room (bench.load): arrival streams and the latency recorder."""
