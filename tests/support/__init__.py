"""Helpers shared by the tests, and only helpers: no test module imports another test module.

- `client`: the harness's HTTP client under the tests' names (`call`, `bearer`), `eventually`,
  `login`, and `assert_unavailable` (the contract's 503);
- `servers_under_test`: a seeded embedded PostgreSQL, `sql` against it, the servers the tests
  start (`Servers`) and their JWT secret; the fixtures over them are in tests/conftest.py;
- `processes`: whether a process is alive, its name, `python -m bench` argument lists;
- `synthetic`, `curve_runs`: runs whose truth is known, written through the results format;
- `tls_ca`: a throwaway certificate authority;
- `lenient_jwt`, `mounted_twin`: servers run as scripts (a JWT server that accepts expired
  tokens; a twin under a path prefix, behind TLS, on any address);
- `elsewhere`: twins reached by URL only, as external arms are (`python -m bench serve` as
  `make serve` runs it, or the mounted twin), stopped when their block ends.
"""
