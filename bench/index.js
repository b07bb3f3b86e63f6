#!/usr/bin/env node
// npm run bench -- [name ...] [--option value ...]
// Runs bench/<name>.js (each exports `async function run(args)`); with no name, lists them.
'use strict';
const fs = require('fs');
const path = require('path');

async function main(argv) {
  const names = fs.readdirSync(__dirname).filter((f) => f.endsWith('.js') && f !== 'index.js' && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
  // A word is a benchmark when it names one (or is 'all'); everything else goes to the benchmarks,
  // which reject what they do not know. (Guessing from position took the word after a switch, as
  // in `--no-numpy swap-noise`, for the switch's value.)
  const isName = (a) => names.includes(a) || a === 'all';
  const wanted = argv.filter(isName);
  const args = argv.filter((a) => !isName(a));
  if (!wanted.length) {
    const stray = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--') && !argv[i - 1].includes('=')));
    if (stray !== undefined) { console.error(`bench: no benchmark '${stray}' (have: ${names.join(', ')})`); return 2; }
    console.log(`usage: npm run bench -- <name> [options]\nbenchmarks: ${names.join(', ')} (or 'all')`);
    return 0;
  }
  const run = wanted.includes('all') ? names : wanted;
  // Each benchmark has its own options and refuses the others': options go with one benchmark.
  if (run.length > 1 && args.length) { console.error(`bench: options (${args.join(' ')}) need a single benchmark, not ${run.join(', ')}`); return 2; }
  for (const n of run) {
    console.log(`\n## ${n}`);
    await require(path.join(__dirname, n)).run(args);
  }
  return 0;
}

main(process.argv.slice(2)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });
