'use strict';
// The Node servers' stores: PostgreSQL through a node-postgres Pool and a Redis-compatible
// server through node-redis, both bounded like the Python servers' (a pool of poolSize
// connections waited for at most the acquire timeout, connect and command timeouts, no
// retries): a store that is down, slow or out of connections is a 503, never a hang or a 401.
// Also what the servers read: the password check at login and GET /profile's data, with the
// statements of servers/contract.sql.

const crypto = require('node:crypto');
const { promisify } = require('node:util');
const { Pool } = require('pg');
const { ConfigError, connectionName, invalidToken, storeUnavailable } = require('./common');
const { sql } = require('./queries');

const scrypt = promisify(crypto.scrypt);

function redact(url) {
  return url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
}

class Database {
  constructor(settings, kind) {
    this.settings = settings;
    this.pool = new Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      connectionTimeoutMillis: Math.max(1, Math.round(Math.max(settings.acquireTimeoutMs, settings.connectTimeoutMs))),
      query_timeout: Math.max(1, Math.round(settings.commandTimeoutMs)),
      application_name: connectionName(kind),
      idleTimeoutMillis: 0, // keep the connections, as the Python pools do
    });
    this.pool.on('error', () => {}); // an idle connection that died: the next query reconnects
  }

  async open() {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      await this.close();
      throw new ConfigError(`cannot reach PostgreSQL at ${redact(this.settings.url)}: ${err.message.split('\n')[0]}`);
    }
  }

  async close() {
    await Promise.race([this.pool.end(), new Promise((r) => setTimeout(r, 5000))]);
  }

  // One query on a pooled connection, prepared by name, or a 503.
  async run(name, text, values) {
    try {
      const result = await this.pool.query({ name, text, values });
      return result;
    } catch (err) {
      if (err && err.code && /^[0-9A-Z]{5}$/.test(err.code) && !err.code.startsWith('08')
          && !['57P01', '57P02', '57P03', '53300'].includes(err.code)) {
        throw err; // an SQL error is a bug, not an outage
      }
      throw storeUnavailable(`database unavailable: ${err && err.message ? err.message.split('\n')[0] : 'error'}`);
    }
  }

  async row(name, text, values) {
    return (await this.run(name, text, values)).rows[0] || null;
  }
}

// Verified against when the username is unknown, so a missing user costs a wrong password's time.
let dummy = null;
async function dummyRecord() {
  if (!dummy) {
    const salt = Buffer.alloc(16);
    const key = await scrypt(crypto.randomBytes(16).toString('base64url'), salt, 32,
      { N: 2 ** 14, r: 8, p: 5, maxmem: 128 * 8 * (2 ** 14 + 5 + 2) + 1024 * 1024 });
    dummy = `scrypt$${2 ** 14}$8$5$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }
  return dummy;
}

// A stored password record: scrypt$N$r$p$<salt b64url>$<key b64url>, its own parameters inside.
async function verifyPassword(password, record) {
  const parts = record.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  try {
    const actual = await scrypt(password, salt, expected.length,
      { N: n, r, p, maxmem: 128 * r * (n + p + 2) + 1024 * 1024 });
    return crypto.timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}

async function checkPassword(db, username, password) {
  const row = await db.row('user_by_name', sql('user_by_name'), [username]);
  const ok = await verifyPassword(password, row ? row.password_hash : await dummyRecord());
  return ok && row ? { userId: row.id, username: row.username } : null;
}

function profileJson(row) {
  return { user_id: row.user_id, username: row.username, orders: row.orders };
}

async function profileOf(db, userId) {
  const row = await db.row('profile_by_id', sql('profile_by_id'), [userId]);
  if (!row) throw invalidToken('no such user');
  return profileJson(row);
}

// A Redis-compatible store through node-redis: one connection (node-redis pipelines commands
// over it), every command bounded by the command timeout, none queued while disconnected.
function redisUrl(env) {
  const url = (env.REDIS_URL || '').trim();
  if (!url) throw new ConfigError('AUTHBENCH_SESSION_STORE=redis needs REDIS_URL (make serve starts a Valkey for you)');
  if (!/^(redis|rediss|unix):\/\//.test(url)) {
    throw new ConfigError(`REDIS_URL must start with redis://, rediss:// or unix://, got '${url}'`);
  }
  return url;
}

class RedisStore {
  constructor(url, settings, kind) {
    const { createClient } = require('redis');
    this.url = url;
    this.settings = settings;
    const socket = { connectTimeout: Math.round(settings.connectTimeoutMs), reconnectStrategy: () => 50 };
    const options = url.startsWith('unix://')
      ? { socket: { ...socket, path: url.slice('unix://'.length) } }
      : { url, socket };
    this.client = createClient({ ...options, name: connectionName(kind), disableOfflineQueue: true });
    this.client.on('error', () => {});
  }

  async open() {
    try {
      await this.bounded(this.client.connect());
      await this.bounded(this.client.ping());
    } catch (err) {
      throw new ConfigError(`cannot reach the session store at ${redact(this.url)}: ${err.message}`);
    }
  }

  async close() {
    try {
      await this.bounded(this.client.quit());
    } catch {
      this.client.destroy?.();
    }
  }

  bounded(promise) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('command timed out')), this.settings.commandTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async call(command, ...args) {
    try {
      return await this.bounded(this.client.sendCommand([command, ...args.map(String)]));
    } catch (err) {
      throw storeUnavailable(`session store unavailable: ${err.message}`);
    }
  }
}

module.exports = { Database, RedisStore, checkPassword, profileJson, profileOf, redisUrl };
