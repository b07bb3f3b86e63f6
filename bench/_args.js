// Argument parsing shared by the benchmarks (not a benchmark: bench/index.js skips files starting with _).
'use strict';

/**
 * Parses a benchmark's arguments: `--flag value`, `--flag=value` and switches, against a table
 * `{'--flag': [key, kind]}` where kind is 'number', 'string', 'list' (comma-separated), 'on' / 'off'
 * (a switch setting `key` to true / false) or a function of the value string. Starts from
 * `defaults`. An object instead of an argv array is merged over the defaults as it is (programmatic
 * use). An unknown flag, a missing value or a malformed number is an error naming the benchmark and the flag.
 */
function parseBenchArgs(name, args, defaults, flags) {
  const out = { ...defaults };
  if (args && !Array.isArray(args) && typeof args === 'object') return Object.assign(out, args);
  const list = Array.isArray(args) ? args : [];
  for (let i = 0; i < list.length; i++) {
    let flag = list[i], value;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    const spec = flags[flag];
    if (!spec) throw new Error(`bench ${name}: unknown option ${flag} (have ${Object.keys(flags).join(' ')})`);
    const [key, kind] = spec;
    if (kind === 'on' || kind === 'off') { out[key] = kind === 'on'; continue; }
    if (value === undefined) value = list[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`bench ${name}: ${flag} needs a value`);
    if (kind === 'number') {
      if (value.trim() === '' || !Number.isFinite(Number(value))) throw new Error(`bench ${name}: ${flag} must be a number, got ${value}`);
      out[key] = Number(value);
    } else if (kind === 'list') out[key] = value.split(',').filter((s) => s.length > 0);
    else if (typeof kind === 'function') out[key] = kind(value);
    else out[key] = value;
  }
  return out;
}

/** `'128x224x224x3'` → `[128, 224, 224, 3]`. */
const shapeOf = (s) => s.split('x').map(Number);

module.exports = { parseBenchArgs, shapeOf };
