"""The embedded PostgreSQL runs as its own user when we are root, with nothing of root's."""

from __future__ import annotations

import os
import pwd
import subprocess

import pytest


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are only dropped when running as root")
def test_server_user_keeps_no_root_group(pg):
    """With uid alone the child would keep gid 0 and root's groups, and a root-owned 0700 parent
    of the checkout (mktemp -d) would then deny it the PostgreSQL binaries by its group bits."""
    status = subprocess.run(
        ["/bin/cat", "/proc/self/status"],
        capture_output=True,
        text=True,
        check=True,
        **pg.popen_options(),
    ).stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    entry = pwd.getpwnam(pg.user)
    assert fields["Uid"].split()[0] == str(entry.pw_uid)
    assert fields["Gid"].split()[0] == str(entry.pw_gid)
    assert fields["Groups"].strip() == ""


def test_embedded_server_answers_on_socket_and_tcp(pg):
    from bench.system.postgres import check_reachable

    assert check_reachable(pg.url).startswith(pg.version)
    assert check_reachable(pg.tcp_url).startswith(pg.version)
