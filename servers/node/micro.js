'use strict';
// The auth step alone, in-process, for the Node.js twins: what bench.run.microbench does for
// Python. Each item is timed in batches sized to about 0.1 s; the median per-call figure over
// the batches, with min, p25 and p75. Prints one JSON object:
//
//     DATABASE_URL=... node micro.js [quick|full]

const crypto = require('node:crypto');
const { Pool } = require('pg');
const { KINDS } = require('./lib/auth');
const { sql } = require('./lib/queries');

const LEVELS = { quick: [5, 0.02], full: [11, 0.1] };

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

async function time(name, group, fn, level, note) {
  const [batches, batchS] = LEVELS[level];
  const batch = async (calls) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) await fn();
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
  let calls = 1;
  let elapsed = await batch(calls);
  while (elapsed < batchS / 4 && calls < 1 << 20) {
    calls *= 4;
    elapsed = await batch(calls);
  }
  calls = Math.max(1, Math.floor((calls * batchS) / Math.max(elapsed, 1e-9)));
  const figures = [];
  for (let i = 0; i < batches; i += 1) figures.push(((await batch(calls)) / calls) * 1e6);
  const sorted = [...figures].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 100) / 100;
  return {
    name, group, us_median: round(quantile(sorted, 0.5)), us_min: round(sorted[0]),
    us_p25: round(quantile(sorted, 0.25)), us_p75: round(quantile(sorted, 0.75)),
    batches, calls_per_batch: calls, note,
  };
}

async function main() {
  const level = process.argv[2] || 'full';
  const env = { ...process.env, AUTHBENCH_JWT_SECRET: crypto.randomBytes(32).toString('base64url') };
  const timings = [];
  const plain = new KINDS.jwt_auth(env);
  const token = plain.issue({ userId: 1234, username: 'user01234' });
  timings.push(await time('jwt_verify_HS256', 'jwt verify', () => plain.verify(token), level,
    'the Node JWT server\'s auth step: jsonwebtoken, every claim checked'));
  const jose = new KINDS.jwt_auth({ ...env, AUTHBENCH_JWT_LIBRARY: 'jose' });
  timings.push(await time('jwt_verify_HS256_jose', 'jwt verify', () => jose.verify(token), level,
    'the same with jose (AUTHBENCH_JWT_LIBRARY=jose)'));
  const opaque = crypto.randomBytes(32).toString('base64url');
  timings.push(await time('session_token_sha256', 'session in-process',
    () => crypto.createHash('sha256').update(opaque).digest(), level,
    'the session server\'s work before its query: sha256'));
  if (process.env.DATABASE_URL) {
    const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
    const hash = crypto.createHash('sha256').update(crypto.randomBytes(32)).digest();
    const lookup = sql('lookup'); // the server's own statement, from servers/contract.sql
    await pool.query(`INSERT INTO authbench.sessions (token_hash, user_id, expires_at)
      VALUES ($1, 1, now() + interval '1 hour') ON CONFLICT DO NOTHING`, [hash]);
    try {
      timings.push(await time('session_lookup', 'database round trip',
        () => pool.query({ name: 'lookup', text: lookup, values: [hash, 60, 1800] }), level,
        'the Node session server\'s query: node-postgres, prepared'));
      timings.push(await time('select_1', 'database round trip',
        () => pool.query({ name: 'select_1', text: 'SELECT 1' }), level, 'the bare round trip'));
    } finally {
      await pool.query('DELETE FROM authbench.sessions WHERE token_hash = $1', [hash]);
      await pool.end();
    }
  }
  process.stdout.write(`${JSON.stringify({ runtime: 'node', node: process.version, timings })}\n`);
}

main().catch((err) => {
  process.stderr.write(`authbench: error: ${err.message}\n`);
  process.exit(2);
});
