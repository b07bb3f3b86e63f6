#!/usr/bin/env node
// batchmix command line. `batchmix compare [options]` (see `batchmix compare --help`).
// Plain JavaScript on top of the built library in ../dist (npm start builds it first).
'use strict';
const path = require('path');

const USAGE = `usage: batchmix <command> [options]

commands:
  compare            train one model per augmentation method and write a report (batchmix compare --help)
  compare-tabular    the same for the tabular methods on birdstrikes (batchmix compare-tabular --help)

Run 'npm run build' first when using a source checkout (npm start does it for you).`;

function loadDist(name) {
  try {
    return require(path.join(__dirname, '..', 'dist', name));
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(path.join('dist', name))) {
      console.error(`batchmix: dist/${name}.js not found: run 'npm run build' first`);
      process.exit(2);
    }
    throw e;
  }
}

async function compareCommand(argv) {
  const { compare, parseCompareArgs, compareHelp } = loadDist('compare');
  const opts = parseCompareArgs(argv);
  if (opts.help) { console.log(compareHelp()); return 0; }
  delete opts.help;
  opts.command = ['batchmix', 'compare', ...argv.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a))].join(' ');
  const res = await compare(opts);
  console.log('\n' + res.table + '\n');
  console.log(`report: ${path.resolve(res.markdown)}`);
  console.log(`        ${path.resolve(res.html)}`);
  console.log(`wall time: ${Math.round(res.wallSeconds)} s`);
  return 0;
}

async function compareTabularCommand(argv) {
  const { compareTabular, parseCompareTabularArgs, compareTabularHelp } = loadDist('tabular_learner');
  const opts = parseCompareTabularArgs(argv);
  if (opts.help) { console.log(compareTabularHelp()); return 0; }
  const quiet = opts.quiet || process.env.BATCHMIX_QUIET === '1';
  delete opts.help;
  delete opts.quiet;
  opts.command = ['batchmix', 'compare-tabular', ...argv.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a))].join(' ');
  if (!opts.outDir) opts.outDir = path.join('reports', 'tabular');
  if (!quiet) {
    opts.onRun = (r, done, total) => {
      const last = r.history[r.history.length - 1] || {};
      const pct = (v) => (v === undefined ? '?' : (100 * v).toFixed(1));
      console.error(`[${done}/${total}] ${r.method} seed ${r.seed}: accuracy ${pct(last.accuracy)}%, balanced ${pct(last.balancedAccuracy)}%`);
    };
  }
  const res = await compareTabular(opts);
  console.log('\n' + res.table + '\n');
  if (res.markdown) console.log(`report: ${path.resolve(res.markdown)}\n        ${path.resolve(res.html)}`);
  console.log(`wall time: ${Math.round(res.wallSeconds)} s`);
  return 0;
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  // An application may set TF.js's production flag: it silences the "install tfjs-node" greeting.
  require('@tensorflow/tfjs').env().set('PROD', true);
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') { console.log(USAGE); return cmd ? 0 : 2; }
  if (cmd === 'compare') return compareCommand(rest);
  if (cmd === 'compare-tabular') return compareTabularCommand(rest);
  console.error(`batchmix: unknown command '${cmd}'\n\n${USAGE}`);
  return 2;
}

/** A BatchmixError from compare's options, phrased with the flag the user typed: `--epochs`, not `epochs`. */
function cliMessage(e) {
  if (e.method !== 'compare' || !/^[a-zA-Z]+$/.test(e.arg)) return e.method.startsWith('batchmix') ? e.message : `batchmix: ${e.message}`;
  const { formatValue } = loadDist('core');
  const flag = '--' + e.arg.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  return `batchmix compare: ${flag} ${e.rule}, got ${formatValue(e.got)}`;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  // Argument errors are BatchmixErrors: print the message alone; anything else with its stack.
  if (e && e.name === 'BatchmixError') console.error(cliMessage(e));
  else console.error(e && e.stack ? e.stack : e);
  process.exit(e && e.name === 'BatchmixError' ? 2 : 1);
});
