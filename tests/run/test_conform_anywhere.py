"""`bench conform URL` wherever the URL points: another loopback address with nothing on
127.0.0.1, a twin behind TLS with a test CA (`--ca-file`, the system's store, `--insecure`), a
twin under a path prefix, and nothing at all. Twins on any address: `ServerProcess(host=...)`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.system.http_client import Endpoint, request
from bench.system.ports import free_port
from bench.system.server_process import ServerProcess
from tests.support.client import login
from tests.support.elsewhere import mounted
from tests.support.servers_under_test import JWT_SECRET
from tests.support.tls_ca import make_ca

BEYOND_LIMITS = re.compile(
    r"^\w{4}  (a 1 MiB Authorization|a 5,000-byte path|a request half-closed)"
)


def conform(url: str, *options: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "bench", "conform", url, "--kind", "jwt", *options]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def passed(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout.splitlines()[-1], done.stdout
    assert not [line for line in done.stdout.splitlines() if line.startswith("FAIL")]


@pytest.fixture(scope="module")
def tls_twin(pg, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The JWT twin behind uvicorn's TLS on 127.0.0.2, with a certificate of a test CA: (its URL,
    the CA's PEM file)."""
    folder = tmp_path_factory.mktemp("tls")
    ca = make_ca(folder, "127.0.0.2")
    url = f"https://127.0.0.2:{free_port('127.0.0.2')}"
    tls = ("--certfile", str(ca.cert_file), "--keyfile", str(ca.key_file))
    with mounted(pg, folder / "twin.log", Endpoint.parse(url, ca_file=str(ca.ca_file)), *tls):
        yield url, ca.ca_file


def test_a_twin_on_another_loopback_address_conforms_there(pg, tmp_path):
    """The address from the URL, not 127.0.0.1: nothing listens on 127.0.0.1 at that port."""
    env = {"DATABASE_URL": pg.url, "AUTHBENCH_JWT_SECRET": JWT_SECRET}
    port = free_port("127.0.0.2")
    with ServerProcess("jwt_auth", env, port=port, host="127.0.0.2", log_path=tmp_path / "log"):
        assert "refused" in request(port, "GET", "/healthz").failure  # 127.0.0.1:port
        done = conform(f"http://127.0.0.2:{port}", "--secret", JWT_SECRET)
    passed(done)
    assert done.stdout.startswith(f"http://127.0.0.2:{port}: the jwt catalogue, plain HTTP\n")
    beyond = [x for x in done.stdout.splitlines() if BEYOND_LIMITS.search(x)]
    assert len(beyond) == 3 and all(x.startswith("PASS") for x in beyond), beyond


def test_every_runtime_listens_on_the_address_it_is_given(pg, runtime, tmp_path):
    """ServerProcess(host=...) tells each runtime's twin where to listen (`--host`)."""
    env = {"DATABASE_URL": pg.url, "AUTHBENCH_JWT_SECRET": JWT_SECRET}
    port = free_port("127.0.0.2")
    with ServerProcess(
        "jwt_auth", env, port=port, runtime=runtime, host="127.0.0.2", log_path=tmp_path / "log"
    ) as server:
        assert server.url == f"http://127.0.0.2:{port}"
        assert request(server.url, "GET", "/me", token=login(server)).status == 200
        assert request(port, "GET", "/healthz").status == 0  # nothing on 127.0.0.1


def test_behind_tls_it_passes_with_the_ca_file(tls_twin):
    url, ca_file = tls_twin
    done = conform(url, "--secret", JWT_SECRET, "--ca-file", str(ca_file))
    passed(done)
    assert f"TLS, certificate checked against {ca_file}" in done.stdout.splitlines()[0]
    beyond = [x for x in done.stdout.splitlines() if BEYOND_LIMITS.search(x)]
    assert [x[:4] for x in beyond] == ["PASS", "PASS", "SKIP"], beyond  # half-closed: http only
    assert "over https a client's FIN ends the TLS session" in beyond[2]
    assert "insecure" not in done.stdout


def test_behind_tls_without_the_ca_file_it_fails_in_one_line(tls_twin):
    url, _ = tls_twin
    done = conform(url, "--secret", JWT_SECRET)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"authbench: error: {url}: TLS verification failed: unable to get local issuer certificate\n"
    )


def test_behind_tls_insecure_passes_and_every_line_says_so(tls_twin):
    url, _ = tls_twin
    done = conform(url, "--secret", JWT_SECRET, "--insecure")
    passed(done)
    lines = done.stdout.splitlines()
    assert len(lines) > 40
    assert all("insecure" in line for line in lines), [x for x in lines if "insecure" not in x]
    assert "certificate NOT checked" in lines[0]


def test_under_a_path_prefix_the_routes_are_found_there(pg, tmp_path):
    url = f"http://127.0.0.2:{free_port('127.0.0.2')}/auth"
    with mounted(pg, tmp_path / "twin.log", Endpoint.parse(url), "--prefix", "/auth"):
        done = conform(url, "--secret", JWT_SECRET)
        without = conform(url.removesuffix("/auth"), "--secret", JWT_SECRET)
    passed(done)
    assert without.returncode == 2 and "does not answer GET /healthz with 200" in without.stderr


def test_an_unreachable_url_is_one_line_naming_it():
    port = free_port("127.0.0.2")
    done = conform(f"https://127.0.0.2:{port}/auth", "--insecure")
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert f"127.0.0.2:{port}: connection refused" in done.stderr
    assert done.stderr.rstrip().endswith("[insecure: the certificate was not checked]")
