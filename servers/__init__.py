"""The twin servers (session, jwt_auth) and the no-auth control, sharing servers.common."""
