'use strict';
// Start one Node.js twin on 127.0.0.1 (or --host), after checking its configuration:
//
//     node server.js session|jwt_auth|control [--host 127.0.0.1] [--port 8000] [--workers 1]
//
// Everything that can be found before serving is one line on stderr and exit code 2: bad
// settings, an unreachable DATABASE_URL or REDIS_URL, a port in use. With --workers N the
// primary process forks N workers (node:cluster) that share the port; SIGTERM or SIGINT stops
// accepting, lets requests in flight finish (5 s at most), closes the stores and exits 0.

const cluster = require('node:cluster');
const http = require('node:http');
const net = require('node:net');
const { ConfigError, handler } = require('./lib/common');
const { KINDS } = require('./lib/auth');
const { answerBeyondLimits } = require('./lib/refusals');

const GRACE_MS = 5000;

function fail(message) {
  process.stderr.write(`authbench: error: ${message}\n`);
  process.exit(2);
}

function parse(argv) {
  const [kind, ...rest] = argv;
  if (!KINDS[kind]) fail(`unknown server '${kind || ''}'; use ${Object.keys(KINDS).join(', ')}`);
  const options = { kind, host: '127.0.0.1', port: 8000, workers: 1 };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i].replace(/^--/, '');
    if (!['host', 'port', 'workers', 'log-level'].includes(key)) fail(`unknown option ${rest[i]}`);
    options[key] = key === 'host' || key === 'log-level' ? rest[i + 1] : Number(rest[i + 1]);
  }
  if (!Number.isInteger(options.workers) || options.workers < 1) fail('--workers must be at least 1');
  return options;
}

function portFree(host, port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

// Settings parsed, stores reached: what a worker does before it listens (and the primary first).
async function prepared(kind) {
  const auth = new KINDS[kind](process.env);
  await auth.startup();
  return auth;
}

async function serve(options) {
  let auth;
  try {
    auth = await prepared(options.kind);
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : `start-up failed: ${err.message}`);
  }
  const server = answerBeyondLimits(http.createServer(handler(auth)));
  server.keepAliveTimeout = 65_000;
  server.listen(options.port, options.host);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(async () => { await auth.shutdown(); process.exit(0); });
    server.closeIdleConnections();
    setTimeout(() => { server.closeAllConnections(); }, GRACE_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main() {
  const options = parse(process.argv.slice(2));
  if (cluster.isPrimary) {
    try {
      const auth = await prepared(options.kind); // settings and stores, once, in one line each
      await auth.shutdown();
    } catch (err) {
      fail(err instanceof ConfigError ? err.message : `start-up failed: ${err.message}`);
    }
    if (!(await portFree(options.host, options.port))) {
      fail(`port ${options.port} on ${options.host} is in use (choose another with --port)`);
    }
    if (options.workers === 1) return serve(options);
    for (let i = 0; i < options.workers; i += 1) cluster.fork();
    let stopping = false;
    const stop = (signal) => {
      stopping = true;
      for (const worker of Object.values(cluster.workers)) worker.process.kill(signal);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGTERM'));
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(stopping ? 0 : 1);
    });
    return undefined;
  }
  return serve(options);
}

main();
