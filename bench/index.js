#!/usr/bin/env node
// npm run bench -- [name ...] [--option value ...]
// Runs bench/<name>.js (each exports `async function run(args)`); with no name, lists them.
'use strict';
const fs = require('fs');
const path = require('path');

async function main(argv) {
  const names = fs.readdirSync(__dirname).filter((f) => f.endsWith('.js') && f !== 'index.js' && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
  const wanted = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--') && !argv[i - 1].includes('=')));
  const args = argv.filter((a) => !wanted.includes(a));
  if (!wanted.length) {
    console.log(`usage: npm run bench -- <name> [options]\nbenchmarks: ${names.join(', ')} (or 'all')`);
    return 0;
  }
  const run = wanted.includes('all') ? names : wanted;
  for (const n of run) {
    if (!names.includes(n)) { console.error(`bench: no benchmark '${n}' (have: ${names.join(', ')})`); return 2; }
    console.log(`\n## ${n}`);
    await require(path.join(__dirname, n)).run(args);
  }
  return 0;
}

main(process.argv.slice(2)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });
