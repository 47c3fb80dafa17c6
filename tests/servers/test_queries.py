"""The servers' SQL has one home, servers/contract.sql: the Python servers and the Node.js twins
read the same statements from it, by the same rules, each statement is used by both, and every
one of them is one PostgreSQL accepts against the schema the harness creates."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bench.system.server_launch import node_binary
from servers import queries

SERVERS = Path(queries.__file__).parent
QUERIES_JS = SERVERS / "node" / "lib" / "queries.js"

# Reads a JSON list of texts on stdin, prints what queries.js makes of each: its statements (as
# [name, text] pairs, in order) or its error message.
NODE_PARSE = """
const { parse } = require(process.argv[1]);
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => {
    try { return { statements: Object.entries(parse(text)) }; } catch (err) { return { error: err.message }; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""

SAMPLES = [
    "-- name: a\nSELECT 1\n",
    "-- name: a\r\nSELECT 1\r\n  -- a comment, dropped\r\n\tFROM t\r\n",
    "-- name: a \t\nSELECT 1",
    "SELECT 0 -- before the first section: the header\n-- name: a\nSELECT 1",
    "-- name: A\nSELECT 1\n--name: a\nSELECT 2\n-- name: a b\nSELECT 3",  # no sections
    "-- name: a\nSELECT {f}, {f}\n-- fragment: f\n$1 + $2\n-- name: b\nSELECT {f}",
    "-- name: a\nSELECT '{\"A\": {1}}'::json, '{x y}'",  # braces that name no fragment
    "-- name: a\n\u00a0SELECT 1\u00a0\n\n",  # only blanks, tabs and newlines are trimmed
    "-- name: a\nSELECT 1\n-- fragment: a\n2",
    "-- name: a\nSELECT {g}",
    "-- name: a\nSELECT 1\n-- name: b\nSELECT {a}",
    "-- fragment: f\n({g})\n-- fragment: g\n1\n-- name: a\nSELECT {f}",
    "-- name: a\n-- only a comment\n\n-- name: b\nSELECT 1\n-- name: c\n",
    "",
]


def python_parse(text: str) -> dict:
    try:
        return {"statements": [list(item) for item in queries.parse(text).items()]}
    except queries.QueryFileError as exc:
        return {"error": str(exc)}


def node_parse(texts: list[str]) -> list[dict]:
    done = subprocess.run(
        [node_binary(), "-e", NODE_PARSE, str(QUERIES_JS)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_python_and_node_read_the_same_statements_from_contract_sql():
    script = "process.stdout.write(JSON.stringify(Object.entries(require(process.argv[1]).statements())))"
    done = subprocess.run(
        [node_binary(), "-e", script, str(QUERIES_JS)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    node = [tuple(item) for item in json.loads(done.stdout)]
    assert node == list(queries.statements().items())
    assert len(node) == 9


def test_both_parsers_follow_the_same_rules_to_the_letter():
    texts = [queries.PATH.read_text(encoding="utf-8"), *SAMPLES]
    assert node_parse(texts) == [python_parse(text) for text in texts]


def test_the_rules_of_the_format():
    assert queries.parse(SAMPLES[1]) == {"a": "SELECT 1\n\tFROM t"}
    assert queries.parse(SAMPLES[4]) == {}
    assert queries.parse(SAMPLES[5]) == {"a": "SELECT $1 + $2, $1 + $2", "b": "SELECT $1 + $2"}
    assert queries.parse(SAMPLES[6]) == {"a": "SELECT '{\"A\": {1}}'::json, '{x y}'"}
    errors = [python_parse(text).get("error") for text in SAMPLES[8:]]
    assert errors == [
        "contract.sql:3: 'a' is named twice",
        "contract.sql: a splices {g}, which is no fragment",
        "contract.sql: b splices {a}, which is no fragment",
        "contract.sql: fragment f splices another",
        "contract.sql: a, c has no text",
        None,
    ]


def names_used(pattern: str, files) -> set[str]:
    return {name for path in files for name in re.findall(pattern, path.read_text())}


def test_every_statement_is_used_by_the_python_servers_and_by_the_node_twins():
    python = names_used(r"\bsql\(\"([a-z0-9_]+)\"\)", SERVERS.glob("*.py"))
    node_files = [*SERVERS.glob("node/*.js"), *SERVERS.glob("node/lib/*.js")]
    node = names_used(r"\bsql\('([a-z0-9_]+)'\)", node_files)
    assert python == node == set(queries.statements())


def test_importing_the_servers_reads_no_sql():
    probe = (
        "import servers.session, servers.jwt_auth, servers.control, servers.store\n"
        "from servers.queries import statements\n"
        "print(statements.cache_info().currsize)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "0"


def test_postgresql_accepts_every_statement(pg):
    async def prepare_all() -> dict[str, int]:
        conn = await asyncpg.connect(pg.url)
        try:
            return {
                name: len((await conn.prepare(text)).get_parameters())
                for name, text in queries.statements().items()
            }
        finally:
            await conn.close()

    parameters = asyncio.run(prepare_all())
    assert parameters == {
        "user_by_name": 1,
        "lookup": 3,
        "profile_by_token": 3,
        "touch": 1,
        "create": 3,
        "delete": 1,
        "is_revoked": 1,
        "revoke": 2,
        "profile_by_id": 1,
    }


def test_an_unknown_statement_is_named():
    with pytest.raises(KeyError, match=r"contract\.sql has no statement 'nope'"):
        queries.sql("nope")
