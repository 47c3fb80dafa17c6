"""The servers against their contract (docs/server-contract.md): routes, RFC 6750 input, the
security cases, faults, the Redis store, requests beyond the HTTP stack's limits, bad
configuration, the SQL they share and the runtimes they are declared in.
"""
