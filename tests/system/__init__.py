"""The system room (bench.system): CPU accounting, the delay proxy, the HTTP client, the
embedded PostgreSQL.
"""
