'use strict';
// What the three Node.js servers share over HTTP: settings, RFC 6750 bearer parsing, errors,
// Server-Timing and the request handler that routes the five endpoints. The twins of
// servers/common.py (the reference implementation of docs/server-contract.md): raw node:http, no
// framework, so that under load the only difference between the servers is their auth step.

const MAX_TOKEN_BYTES = 8 * 1024; // refused before any decoding
const MAX_BODY_BYTES = 4 * 1024;
// RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const REALM = 'authbench';

class ConfigError extends Error {}

class Problem extends Error {
  constructor(status, error, description, headers = {}) {
    super(description);
    this.status = status;
    this.error = error;
    this.description = description;
    this.headers = headers;
  }
}

function challenge(error, description) {
  let value = `Bearer realm="${REALM}"`;
  if (error) value += `, error="${error}"`;
  if (description) value += `, error_description="${description}"`;
  return { 'www-authenticate': value };
}

const noCredentials = () => new Problem(401, 'unauthorized', 'bearer token required', challenge());
const invalidToken = (d) => new Problem(401, 'invalid_token', d, challenge('invalid_token', d));
const invalidRequest = (d) => new Problem(400, 'invalid_request', d, challenge('invalid_request', d));
const storeUnavailable = (reason) =>
  new Problem(503, 'temporarily_unavailable', reason, { 'retry-after': '1' });

// Settings from the environment, each refused in one line when wrong.
function envNumber(env, name, fallback, minimum = 0) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`${name} must be a number, got '${raw}'`);
  if (value < minimum) throw new ConfigError(`${name} must be at least ${minimum}, got ${raw}`);
  return value;
}

function envFlag(env, name) {
  const raw = (env[name] || '').trim().toLowerCase();
  if (['', '0', 'false', 'no', 'off'].includes(raw)) return false;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  throw new ConfigError(`${name} must be 1/0, true/false, yes/no or on/off, got '${raw}'`);
}

function envChoice(env, name, choices) {
  const raw = (env[name] || '').trim().toLowerCase() || choices[0];
  if (!choices.includes(raw)) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  }
  return raw;
}

function storeSettings(env) {
  if (!env.DATABASE_URL) {
    throw new ConfigError('DATABASE_URL is not set (make serve starts a database for you)');
  }
  return {
    url: env.DATABASE_URL,
    poolSize: envNumber(env, 'AUTHBENCH_POOL_SIZE', 10, 1),
    acquireTimeoutMs: envNumber(env, 'AUTHBENCH_DB_ACQUIRE_TIMEOUT', 0.5, 0.001) * 1000,
    commandTimeoutMs: envNumber(env, 'AUTHBENCH_DB_COMMAND_TIMEOUT', 0.5, 0.001) * 1000,
    connectTimeoutMs: envNumber(env, 'AUTHBENCH_DB_CONNECT_TIMEOUT', 0.5, 0.001) * 1000,
  };
}

// Bearer parsing (RFC 6750 section 2.1): the token, or a Problem saying exactly what is wrong.
function bearerToken(rawHeaders) {
  const values = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'authorization') values.push(rawHeaders[i + 1]);
  }
  if (values.length === 0) throw noCredentials();
  if (values.length > 1) throw invalidRequest('more than one Authorization header');
  const raw = values[0];
  const space = raw.indexOf(' ');
  const scheme = space < 0 ? raw : raw.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') throw noCredentials();
  const credentials = space < 0 ? '' : raw.slice(space + 1).replace(/^ +| +$/g, '');
  if (!credentials) throw invalidRequest('empty bearer token');
  if (Buffer.byteLength(credentials, 'latin1') > MAX_TOKEN_BYTES) {
    throw invalidToken(`token longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  if (/[^\x00-\x7f]/.test(credentials)) {
    throw invalidRequest('token has characters outside RFC 6750 b64token');
  }
  if (credentials.includes(' ')) throw invalidRequest('more than one token in the Authorization header');
  if (!B64TOKEN.test(credentials)) throw invalidRequest('token has characters outside RFC 6750 b64token');
  return credentials;
}

function connectionName(kind) {
  return `authbench-${kind}-${process.pid}`;
}

function tokenResponse(token, expiresIn) {
  return { token, token_type: 'Bearer', expires_in: expiresIn };
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function respond(res, status, body, headers = {}) {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...JSON_HEADERS,
    ...headers,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

// Server-Timing: auth;dur=<ms, three decimals>, plus ", cache;desc=hit" for a cache hit.
function serverTiming(startedNs, endedNs, cached = false) {
  const ended = endedNs || process.hrtime.bigint();
  const ms = Number(ended - startedNs) / 1e6;
  return { 'server-timing': `auth;dur=${ms.toFixed(3)}${cached ? ', cache;desc=hit' : ''}` };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) reject(new Problem(413, 'invalid_request', `body larger than ${MAX_BODY_BYTES} bytes`));
        refused = true; // keep reading (and dropping) the rest, so that the 413 can be sent
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new Problem(400, 'invalid_request', 'client went away')));
  });
}

function parseCredentials(body) {
  let data;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Problem(400, 'invalid_request', 'body must be JSON');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Problem(400, 'invalid_request', 'body must be a JSON object');
  }
  const { username, password } = data;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new Problem(400, 'invalid_request', 'username and password must be strings');
  }
  return [username, password];
}

const ROUTES = { '/login': 'POST', '/me': 'GET', '/profile': 'GET', '/logout': 'POST', '/healthz': 'GET' };

// The request handler all three servers share; `auth` is the server's auth step.
function handler(auth) {
  return async (req, res) => {
    const path = req.url.split('?', 1)[0];
    const allowed = ROUTES[path];
    if (!allowed) return respond(res, 404, { error: 'not_found', error_description: path });
    if (req.method !== allowed) {
      return respond(res, 405, { error: 'method_not_allowed', error_description: `use ${allowed}` },
        { allow: allowed });
    }
    const started = process.hrtime.bigint();
    try {
      if (path === '/me') {
        const principal = await auth.authenticate(req.rawHeaders);
        respond(res, 200, { user_id: principal.userId, username: principal.username },
          serverTiming(started, null, principal.cached));
      } else if (path === '/profile') {
        const timing = [0n];
        const body = await auth.profile(req.rawHeaders, timing);
        respond(res, 200, body, serverTiming(started, timing[0] || null));
      } else if (path === '/healthz') {
        respond(res, 200, { status: 'ok', server: auth.name });
      } else if (path === '/login') {
        const [username, password] = parseCredentials(await readBody(req));
        respond(res, 200, await auth.login(username, password));
      } else {
        await auth.logout(req.rawHeaders);
        respond(res, 204);
      }
    } catch (err) {
      if (err instanceof Problem) {
        const headers = { ...err.headers };
        if (path === '/me' || path === '/profile') Object.assign(headers, serverTiming(started));
        return respond(res, err.status, { error: err.error, error_description: err.description }, headers);
      }
      console.error(`unexpected error on ${req.method} ${path}:`, err);
      respond(res, 500, { error: 'server_error', error_description: 'see server log' });
    }
  };
}

module.exports = {
  B64TOKEN, ConfigError, MAX_TOKEN_BYTES, Problem, bearerToken, connectionName, envChoice,
  envFlag, envNumber, handler, invalidRequest, invalidToken, respond, serverTiming,
  storeSettings, storeUnavailable, tokenResponse,
};
