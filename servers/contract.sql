-- The statements the servers of the contract run at login, on every request and at logout: the
-- one home of each, read by the Python servers (servers/queries.py) and the Node.js twins
-- (servers/node/lib/queries.js) alike; a test checks that both read the same statements. The
-- schema and the harness's seeding stay in servers/store.py: servers never create tables.
--
-- The format, which both parsers follow to the letter:
-- - `-- name: <name>` starts a statement, `-- fragment: <name>` a piece of one; either runs to
--   the next such line. Names are lower case, [a-z][a-z0-9_]*, each used once.
-- - Lines whose first non-blank characters are `--` are comments and are dropped; so is what
--   comes before the first section (this header). A section's text is its other lines joined,
--   blanks, tabs and newlines trimmed at both ends.
-- - `{<fragment>}` in a statement is replaced by that fragment's text (one level: a fragment
--   holds no `{...}`). Only statements are read by name; fragments only exist to be spliced.
-- - Parameters are PostgreSQL's $1, $2, ... as asyncpg and node-postgres both send them.

-- name: user_by_name
-- Login: the user and their scrypt record (an unknown user still costs one scrypt).
SELECT id, username, password_hash FROM authbench.users WHERE username = $1

-- ---------------------------------------------------------------------------------------------
-- The session server, with the PostgreSQL store: the token's sha256 ($1) is the key.

-- name: lookup
-- GET /me: one indexed lookup, absolute and idle expiry checked in the statement; `stale` says
-- last_seen is older than $2 s (refresh it), $3 is the idle timeout in seconds.
SELECT s.user_id, u.username, s.last_seen < now() - make_interval(secs => $2) AS stale
FROM authbench.sessions s JOIN authbench.users u ON u.id = s.user_id
WHERE s.token_hash = $1
  AND s.expires_at > now()
  AND s.last_seen > now() - make_interval(secs => $3)

-- name: profile_by_token
-- GET /profile in one round trip: the lookup above joined with the data the endpoint reads.
SELECT u.id AS user_id, u.username, s.last_seen < now() - make_interval(secs => $2) AS stale,
       {recent_orders} AS orders
FROM authbench.sessions s JOIN authbench.users u ON u.id = s.user_id
WHERE s.token_hash = $1
  AND s.expires_at > now()
  AND s.last_seen > now() - make_interval(secs => $3)

-- name: touch
-- The idle expiry's refresh, at most every min(60 s, idle / 4).
UPDATE authbench.sessions SET last_seen = now() WHERE token_hash = $1

-- name: create
-- Login: a new session for user $2, living $3 seconds.
INSERT INTO authbench.sessions (token_hash, user_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))

-- name: delete
-- Logout: the row goes, so the token is refused on the very next request.
DELETE FROM authbench.sessions WHERE token_hash = $1

-- ---------------------------------------------------------------------------------------------
-- The JWT server's denylist (AUTHBENCH_JWT_DENYLIST), keyed on the token's jti ($1).

-- name: is_revoked
SELECT 1 FROM authbench.revoked_tokens WHERE jti = $1

-- name: revoke
-- Logout: the jti, kept until the token's own exp ($2, seconds since the epoch).
INSERT INTO authbench.revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
ON CONFLICT (jti) DO NOTHING

-- ---------------------------------------------------------------------------------------------
-- GET /profile: the user's row and their 10 most recent orders, one JSON document built by
-- PostgreSQL. The JWT server and the control run it by user id; the session server folds its
-- lookup into the same statement (profile_by_token).

-- fragment: recent_orders
COALESCE((SELECT json_agg(o) FROM (
    SELECT id, item, amount_cents, created_at FROM authbench.orders
    WHERE user_id = u.id ORDER BY created_at DESC LIMIT 10) o), '[]')

-- name: profile_by_id
SELECT u.id AS user_id, u.username, {recent_orders} AS orders
FROM authbench.users u WHERE u.id = $1
