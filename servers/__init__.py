"""The twin servers (session, jwt_auth) and the no-auth control, sharing servers.common."""

SERVERS = ("session", "jwt_auth", "control")
NEEDS_DATABASE = frozenset({"session", "jwt_auth"})
