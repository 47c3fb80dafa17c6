"""The runtimes are declared once (servers.runtime_catalogue), and what the Node twins are
declared to read is what their code reads: the list cannot drift from server.js."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servers import runtime_catalogue
from servers.jwt_auth import ALGORITHMS

NODE_DIR = Path(runtime_catalogue.__file__).parent / "node"


def node_sources() -> str:
    files = [*NODE_DIR.glob("*.js"), *NODE_DIR.glob("lib/*.js")]
    assert NODE_DIR / "server.js" in files
    return "\n".join(path.read_text() for path in files)


def test_the_node_settings_are_the_ones_the_node_code_reads():
    read = set(re.findall(r"\bAUTHBENCH_[A-Z0-9_]+", node_sources()))
    assert runtime_catalogue.RUNTIMES["node"].settings == read


def test_the_node_jwt_algorithms_are_the_ones_the_node_code_verifies():
    verified = re.findall(r"algorithms: \[([^\]]*)\]", (NODE_DIR / "lib" / "auth.js").read_text())
    assert verified, "auth.js no longer names the algorithms it verifies"
    names = {name.strip(" '\"") for found in verified for name in found.split(",")}
    node = runtime_catalogue.RUNTIMES["node"]
    assert set(node.jwt_algorithms) == names
    assert names <= set(ALGORITHMS)


def test_a_runtime_refuses_what_it_would_ignore():
    node, python = runtime_catalogue.RUNTIMES["node"], runtime_catalogue.RUNTIMES["python"]
    assert node.refusal({"AUTHBENCH_SESSION_CACHE_TTL": "1"}) == (
        "the node runtime does not read AUTHBENCH_SESSION_CACHE_TTL"
    )
    assert node.refusal({"AUTHBENCH_JWT_ALG": "RS256"}) == (
        "the node runtime's JWT server supports HS256 only"
    )
    assert node.refusal({"AUTHBENCH_JWT_ALG": "HS256", "AUTHBENCH_POOL_SIZE": "4"}) is None
    assert (
        python.refusal({"AUTHBENCH_SESSION_CACHE_TTL": "1", "AUTHBENCH_JWT_ALG": "RS256"}) is None
    )


def test_python_dash_m_servers_serves_the_uvicorn_runtimes_only(capsys):
    from servers.__main__ import main

    assert runtime_catalogue.UVICORN_NAMES == ("python", "fastapi")
    with pytest.raises(SystemExit):
        main(["control", "--runtime", "node"])
    assert "argument --runtime: invalid choice: 'node'" in capsys.readouterr().err
