'use strict';
// The three auth steps, the twins of servers/control.py, servers/session.py and
// servers/jwt_auth.py: each exposes name, startup, shutdown, login, authenticate, profile, logout.

const crypto = require('node:crypto');
const {
  ConfigError, Problem, bearerToken, envChoice, envFlag, envNumber, invalidToken, storeSettings,
  tokenResponse,
} = require('./common');
const { sql } = require('./queries');
const { Database, RedisStore, checkPassword, profileJson, profileOf, redisUrl } = require('./stores');

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (token) => crypto.createHash('sha256').update(token).digest();

// ----------------------------------------------------------------------------------------------
// control: no auth step at all

class Control {
  constructor(env) {
    this.name = 'control';
    this.db = env.DATABASE_URL ? new Database(storeSettings(env), this.name) : null;
  }
  async startup() { if (this.db) await this.db.open(); }
  async shutdown() { if (this.db) await this.db.close(); }
  // Exercises: JSON parsing only; no password check, no token.
  async login() { return tokenResponse('control', 3600); }
  // Exercises: nothing. The Authorization header is not even read.
  async authenticate() { return { userId: 0, username: 'anonymous', cached: false }; }
  // Exercises: the data query alone, for a fixed user: no auth step.
  async profile(headers, timing) {
    timing[0] = process.hrtime.bigint();
    if (!this.db) throw new Problem(503, 'temporarily_unavailable', 'the control server has no DATABASE_URL', { 'retry-after': '1' });
    return profileOf(this.db, 1);
  }
  async logout() {}
}

// ----------------------------------------------------------------------------------------------
// session: an opaque token looked up in PostgreSQL (or Redis) on every request

class PostgresSessions {
  constructor(db, s) {
    this.db = db;
    this.s = s;
    // The statements of servers/contract.sql, taken once here rather than on each request.
    this.sql = { lookup: sql('lookup'), touch: sql('touch'), create: sql('create'), delete: sql('delete') };
  }
  async open() {}
  async close() {}
  async create(hash, p) { await this.db.run('create', this.sql.create, [hash, p.userId, this.s.ttl]); }
  async lookup(hash) {
    const row = await this.db.row('lookup', this.sql.lookup, [hash, this.s.touchAfter, this.s.idle]);
    if (!row) return null;
    if (row.stale) await this.db.run('touch', this.sql.touch, [hash]);
    return { userId: row.user_id, username: row.username, cached: false };
  }
  async delete(hash) { return (await this.db.run('delete', this.sql.delete, [hash])).rowCount > 0; }
}

const REDIS_PREFIX = 'authbench:session:';

class RedisSessions {
  constructor(store, s) { this.store = store; this.s = s; }
  async open() { await this.store.open(); }
  async close() { await this.store.close(); }
  key(hash) { return REDIS_PREFIX + hash.toString('hex'); }
  value(p, nowMs) { return `${p.userId}:${Math.floor(nowMs)}:${p.username}`; }
  async create(hash, p) { await this.store.call('SET', this.key(hash), this.value(p, Date.now()), 'EX', this.s.ttl); }
  async lookup(hash) {
    const key = this.key(hash);
    const value = await this.store.call('GET', key);
    if (value === null || value === undefined) return null;
    const first = value.indexOf(':');
    const second = value.indexOf(':', first + 1);
    const p = { userId: Number(value.slice(0, first)), username: value.slice(second + 1), cached: false };
    const idle = (Date.now() - Number(value.slice(first + 1, second))) / 1000;
    if (idle > this.s.idle) return null;
    if (idle > this.s.touchAfter) await this.store.call('SET', key, this.value(p, Date.now()), 'XX', 'KEEPTTL');
    return p;
  }
  async delete(hash) { return (await this.store.call('DEL', this.key(hash))) === 1; }
}

class Session {
  constructor(env) {
    this.name = 'session';
    const idle = envNumber(env, 'AUTHBENCH_SESSION_IDLE', 1800, 0.01);
    this.s = {
      ttl: envNumber(env, 'AUTHBENCH_TOKEN_TTL', 3600, 1),
      idle,
      touchAfter: Math.min(60, idle / 4),
      store: envChoice(env, 'AUTHBENCH_SESSION_STORE', ['postgres', 'redis']),
      profileQuery: envChoice(env, 'AUTHBENCH_PROFILE_QUERY', ['joined', 'naive']),
    };
    const settings = storeSettings(env);
    this.db = new Database(settings, this.name);
    this.sessions = this.s.store === 'redis'
      ? new RedisSessions(new RedisStore(redisUrl(env), settings, this.name), this.s)
      : new PostgresSessions(this.db, this.s);
    this.folds = this.s.store === 'postgres' && this.s.profileQuery === 'joined';
    // The folded statement and the idle refresh (servers/contract.sql), taken once here.
    this.sql = { profileByToken: sql('profile_by_token'), touch: sql('touch') };
  }
  async startup() {
    await this.db.open();
    try { await this.sessions.open(); } catch (err) { await this.db.close(); throw err; }
  }
  async shutdown() { await this.sessions.close(); await this.db.close(); }
  tokenHash(headers) {
    const token = bearerToken(headers);
    if (!TOKEN_SHAPE.test(token)) throw invalidToken('not a session token'); // the store is not asked
    return sha256(token);
  }
  // Exercises: password check in PostgreSQL, then one write of sha256(new token) to the store.
  async login(username, password) {
    const p = await checkPassword(this.db, username, password);
    if (!p) throw new Problem(400, 'invalid_grant', 'unknown username or wrong password');
    const token = crypto.randomBytes(32).toString('base64url');
    await this.sessions.create(sha256(token), p);
    return tokenResponse(token, this.s.ttl);
  }
  // Exercises: sha256 of the token, then one lookup in the store.
  async authenticate(headers) {
    const p = await this.sessions.lookup(this.tokenHash(headers));
    if (!p) throw invalidToken('unknown, expired or logged-out session');
    return p;
  }
  // Exercises: the lookup folded into the data query (one round trip), or lookup then query.
  async profile(headers, timing) {
    if (!this.folds) {
      const p = await this.authenticate(headers);
      timing[0] = process.hrtime.bigint();
      return profileOf(this.db, p.userId);
    }
    const hash = this.tokenHash(headers);
    const row = await this.db.row('profile_by_token', this.sql.profileByToken, [hash, this.s.touchAfter, this.s.idle]);
    timing[0] = process.hrtime.bigint();
    if (!row) throw invalidToken('unknown, expired or logged-out session');
    if (row.stale) await this.db.run('touch', this.sql.touch, [hash]);
    return profileJson(row);
  }
  // Exercises: one delete in the store; the token is refused from the next request on.
  async logout(headers) {
    if (!(await this.sessions.delete(this.tokenHash(headers)))) {
      throw invalidToken('unknown, expired or logged-out session');
    }
  }
}

// ----------------------------------------------------------------------------------------------
// jwt_auth: a signed token verified with a key alone (jsonwebtoken; jose with AUTHBENCH_JWT_LIBRARY)

const REQUIRED = ['exp', 'iat', 'nbf', 'iss', 'aud', 'sub', 'jti'];
const NUMERIC_DATES = ['exp', 'nbf', 'iat'];
const MIN_SECRET_BYTES = 32;

class JwtAuth {
  constructor(env) {
    this.name = 'jwt_auth';
    const algorithm = env.AUTHBENCH_JWT_ALG || 'HS256';
    if (algorithm !== 'HS256') {
      throw new ConfigError(`AUTHBENCH_JWT_ALG=${algorithm} is not supported by the Node twin; use HS256`);
    }
    const secret = env.AUTHBENCH_JWT_SECRET !== undefined
      ? Buffer.from(env.AUTHBENCH_JWT_SECRET) : crypto.randomBytes(MIN_SECRET_BYTES);
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ConfigError(`AUTHBENCH_JWT_SECRET is ${secret.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (RFC 7518 3.2)`);
    }
    this.s = {
      secret,
      issuer: env.AUTHBENCH_JWT_ISSUER || 'authbench',
      audience: env.AUTHBENCH_JWT_AUDIENCE || 'authbench-api',
      ttl: envNumber(env, 'AUTHBENCH_TOKEN_TTL', 3600, 1),
      denylist: envFlag(env, 'AUTHBENCH_JWT_DENYLIST'),
      library: envChoice(env, 'AUTHBENCH_JWT_LIBRARY', ['jsonwebtoken', 'jose']),
    };
    this.jwt = require('jsonwebtoken');
    if (this.s.library === 'jose') {
      this.jose = require('jose');
      this.key = crypto.createSecretKey(secret);
    }
    this.db = new Database(storeSettings(env), this.name);
    // The denylist's statements (servers/contract.sql), taken once rather than per request.
    this.sql = { isRevoked: sql('is_revoked'), revoke: sql('revoke') };
  }
  async startup() { await this.db.open(); }
  async shutdown() { await this.db.close(); }
  issue(p) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: this.s.issuer, aud: this.s.audience, sub: String(p.userId), name: p.username,
      iat: now, nbf: now, exp: now + this.s.ttl, jti: crypto.randomBytes(16).toString('base64url'),
    };
    return this.jwt.sign(claims, this.s.secret, { algorithm: 'HS256' }); // keeps the iat given
  }
  // The token's claims, or invalid_token: signature first, then every claim, zero leeway.
  async verify(token) {
    let header;
    let claims;
    try {
      if (this.jose) {
        const found = await this.jose.jwtVerify(token, this.key, {
          algorithms: ['HS256'], issuer: this.s.issuer, audience: this.s.audience,
          clockTolerance: 0, requiredClaims: REQUIRED,
        });
        [header, claims] = [found.protectedHeader, found.payload];
      } else {
        const found = this.jwt.verify(token, this.s.secret, {
          algorithms: ['HS256'], issuer: this.s.issuer, audience: this.s.audience,
          clockTolerance: 0, complete: true,
        });
        [header, claims] = [found.header, found.payload];
      }
    } catch (err) {
      throw invalidToken(String(err.message || err.name).replace(/["\\]/g, "'"));
    }
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
      throw invalidToken('payload is not a JSON object');
    }
    for (const name of REQUIRED) {
      if (!(name in claims)) throw invalidToken(`token is missing the "${name}" claim`.replace(/"/g, "'"));
    }
    for (const name of NUMERIC_DATES) {
      if (typeof claims[name] !== 'number') throw invalidToken(`${name} is not a NumericDate (a JSON number)`);
    }
    const now = Date.now() / 1000;
    if (claims.iat > now) throw invalidToken('the token is not yet valid (iat)');
    if (claims.nbf > now) throw invalidToken('the token is not yet valid (nbf)');
    if (claims.exp <= now) throw invalidToken('signature has expired');
    if (claims.aud !== this.s.audience) throw invalidToken('audience does not match');
    const keys = Object.keys(header);
    if (!keys.every((k) => k === 'alg' || k === 'typ') || (header.typ ?? 'JWT') !== 'JWT') {
      throw invalidToken('unexpected token header parameters');
    }
    if (typeof claims.sub !== 'string' || !/^[0-9]+$/.test(claims.sub)) throw invalidToken('sub is not a user id');
    if (typeof claims.name !== 'string' || typeof claims.jti !== 'string') {
      throw invalidToken('name and jti must be strings');
    }
    return claims;
  }
  // Exercises: password check, then signing a token (no database write).
  async login(username, password) {
    const p = await checkPassword(this.db, username, password);
    if (!p) throw new Problem(400, 'invalid_grant', 'unknown username or wrong password');
    return tokenResponse(this.issue(p), this.s.ttl);
  }
  // Exercises: signature and claim checks; with the denylist, one jti lookup.
  async authenticate(headers) {
    const claims = await this.verify(bearerToken(headers));
    if (this.s.denylist && (await this.db.row('is_revoked', this.sql.isRevoked, [claims.jti]))) {
      throw invalidToken('token revoked');
    }
    return { userId: Number(claims.sub), username: claims.name, cached: false };
  }
  // Exercises: verification, then one data query by the token's sub.
  async profile(headers, timing) {
    const p = await this.authenticate(headers);
    timing[0] = process.hrtime.bigint();
    return profileOf(this.db, p.userId);
  }
  // Exercises: verification; with the denylist, one INSERT of the jti.
  async logout(headers) {
    const claims = await this.verify(bearerToken(headers));
    if (this.s.denylist) await this.db.run('revoke', this.sql.revoke, [claims.jti, claims.exp]);
  }
}

const KINDS = { control: Control, session: Session, jwt_auth: JwtAuth };

module.exports = { KINDS, sha256 };
