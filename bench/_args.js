// Argument parsing shared by the benchmarks (not a benchmark: bench/index.js skips files starting with _).
'use strict';
const { parseFlags } = require('../dist/compare');

/**
 * Parses a benchmark's arguments against a table `{'--flag': [key, kind]}`: kind is one of
 * `parseFlags`' kinds (`'int'`, `'number'`, `'string'`, `'list'`: notebook `09_compare`), `'on'` /
 * `'off'` (a switch setting `key` to true / false) or a function of the value string. Starts from
 * `defaults`. `--flag value` and `--flag=value` as for `batchmix compare`; an unknown flag (with the
 * nearest one suggested), a missing value or a malformed number is an error naming the benchmark
 * (`bench augment: --runs must be an integer, got 2.5`). An object instead of an argv array is
 * merged over the defaults as it is (programmatic use).
 */
function parseBenchArgs(name, args, defaults, flags) {
  const out = { ...defaults };
  if (args && !Array.isArray(args) && typeof args === 'object') return Object.assign(out, args);
  const table = {}, convert = {};
  for (const [flag, [key, kind]] of Object.entries(flags)) {
    if (kind === 'on' || kind === 'off') continue;
    table[flag] = { key, kind: typeof kind === 'function' ? 'string' : kind, help: '' };
    if (typeof kind === 'function') convert[key] = kind;
  }
  const rest = [];
  for (const a of Array.isArray(args) ? args : []) {
    const spec = flags[a];
    if (spec && (spec[1] === 'on' || spec[1] === 'off')) out[spec[0]] = spec[1] === 'on';
    else rest.push(a);
  }
  const parsed = parseFlags(rest, table, `bench ${name}`);
  delete parsed.help; delete parsed.quiet;
  for (const [key, v] of Object.entries(parsed)) out[key] = convert[key] ? convert[key](v) : v;
  return out;
}

/** `'128x224x224x3'` → `[128, 224, 224, 3]`. */
const shapeOf = (s) => s.split('x').map(Number);

module.exports = { parseBenchArgs, shapeOf };
