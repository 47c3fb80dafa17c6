'use strict';
// The servers' SQL, read from its one home: servers/contract.sql, parsed by the same rules as
// servers/queries.py (a test checks that both parses agree). The format is described at the top
// of the file. Requiring this module reads nothing: the file is parsed on the first sql(name).

const fs = require('node:fs');
const path = require('node:path');

const FILE = path.join(__dirname, '..', '..', 'contract.sql');
const SECTION = /^-- (name|fragment): ([a-z][a-z0-9_]*)[ \t]*$/;
const SPLICE = /\{([a-z][a-z0-9_]*)\}/g;
const trim = (text) => text.replace(/^[ \t\n]+|[ \t\n]+$/g, '');

class QueryFileError extends Error {}

// { statement name: text }, fragments spliced in, in the order of the file.
function parse(text, source = path.basename(FILE)) {
  const sections = new Map();
  let current = null;
  text.replace(/\r\n/g, '\n').split('\n').forEach((line, index) => {
    const header = SECTION.exec(line);
    if (header) {
      const [, kind, name] = header;
      if (sections.has(name)) throw new QueryFileError(`${source}:${index + 1}: '${name}' is named twice`);
      current = [];
      sections.set(name, { kind, lines: current });
    } else if (current !== null && !/^[ \t]*--/.test(line)) {
      current.push(line);
    }
  });
  const texts = new Map([...sections].map(([name, s]) => [name, trim(s.lines.join('\n'))]));
  const empty = [...texts].filter(([, body]) => !body).map(([name]) => name);
  if (empty.length) throw new QueryFileError(`${source}: ${empty.join(', ')} has no text`);
  const fragments = new Map([...sections].filter(([, s]) => s.kind === 'fragment')
    .map(([name]) => [name, texts.get(name)]));
  const nested = [...fragments].filter(([, body]) => /\{([a-z][a-z0-9_]*)\}/.test(body)).map(([name]) => name);
  if (nested.length) throw new QueryFileError(`${source}: fragment ${nested.join(', ')} splices another`);
  const statements = {};
  for (const [name, s] of sections) {
    if (s.kind !== 'name') continue;
    statements[name] = texts.get(name).replace(SPLICE, (found, fragment) => {
      if (!fragments.has(fragment)) throw new QueryFileError(`${source}: ${name} splices ${found}, which is no fragment`);
      return fragments.get(fragment);
    });
  }
  return Object.freeze(statements);
}

let cached = null;

// Every statement of contract.sql, parsed once per process (frozen).
function statements() {
  if (cached === null) cached = parse(fs.readFileSync(FILE, 'utf8'));
  return cached;
}

// The text of statement `name` of contract.sql.
function sql(name) {
  const all = statements();
  if (!Object.hasOwn(all, name)) throw new Error(`${path.basename(FILE)} has no statement '${name}'`);
  return all[name];
}

module.exports = { FILE, QueryFileError, parse, sql, statements };
