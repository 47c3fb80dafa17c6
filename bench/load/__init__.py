"""The load: the Locust user and its driver, the recorder of exact latencies, the arrival
streams, and the independent open-loop client that cross-checks Locust."""
