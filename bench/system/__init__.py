"""The system under test and what runs it: processes and process trees, the embedded PostgreSQL
and Valkey, the delay proxy, core pinning and CPU accounting. Nothing here reads results."""
