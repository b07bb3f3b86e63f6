// swapNoise on a [65536, 64] batch, p = 0.15, cpu backend. Goal: <= 20 ms (numpy's best vectorised
// version takes 28 ms on this machine).
//
//   npm run bench -- swap-noise [--shape 65536x64] [--p 0.15] [--runs 15] [--backend cpu]
//
// Rows: the allocate + copy floor (`src.slice()` of the batch's Float32Array: what any op returning
// a new [B, D] tensor pays), then swapNoise as a user calls it (the whole call, then dispose x and
// mask) in row and column mode on float32 and int32, then a naive typed-array version that draws one
// uniform per cell from core's Rng (what the geometric-gap plan replaces). Median and best of --runs
// after two warm-up calls. The machine is shared: numbers move with the load; compare within a run.
'use strict';
const tf = require('@tensorflow/tfjs');

function parseArgs(args) {
  const out = { shape: [65536, 64], p: 0.15, runs: 15, backend: 'cpu' };
  const list = Array.isArray(args) ? args : [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    const val = () => list[++i];
    if (a === '--shape') out.shape = val().split('x').map(Number);
    else if (a === '--p') out.p = Number(val());
    else if (a === '--runs') out.runs = Number(val());
    else if (a === '--backend') out.backend = val();
  }
  if (args && !Array.isArray(args) && typeof args === 'object') Object.assign(out, args);
  return out;
}

function time(f, runs, warmup = 2) {
  for (let i = 0; i < warmup; i++) f();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    f();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { median: t[runs >> 1], best: t[0] };
}

/** One uniform per cell from core's Rng, partner from Rng.int: the straightforward typed-array version. */
function naiveSwap(values, B, D, p, Rng) {
  const rng = new Rng(0);
  const out = values.slice();
  const mask = new Float32Array(B * D);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < D; j++) {
      if (rng.next() >= p) continue;
      let q = rng.int(B - 1);
      if (q >= i) q++;
      const v = values[q * D + j];
      if (v !== out[i * D + j]) { out[i * D + j] = v; mask[i * D + j] = 1; }
    }
  }
  return { out, mask };
}

async function run(args) {
  const o = parseArgs(args);
  await tf.setBackend(o.backend);
  await tf.ready();
  const { swapNoise } = require('../dist/tabular');
  const { Rng } = require('../dist/core');
  const [B, D] = o.shape;
  const xf = tf.randomNormal([B, D], 0, 1, 'float32', 0);
  const xi = tf.randomUniform([B, D], 0, 50, 'int32', 0);
  const vals = xf.dataSync();
  const rows = [];
  rows.push(['allocate + copy floor (slice)', time(() => vals.slice(), o.runs)]);
  for (const [name, x, mode] of [['swapNoise float32, row', xf, 'row'], ['swapNoise int32, row', xi, 'row'],
    ['swapNoise float32, column', xf, 'column'], ['swapNoise int32, column', xi, 'column']]) {
    let seed = 0;
    rows.push([name, time(() => { const r = swapNoise(x, { p: o.p, mode, seed: seed++ }); r.x.dispose(); r.mask.dispose(); }, o.runs)]);
  }
  rows.push(['naive: one Rng draw per cell', time(() => naiveSwap(vals, B, D, o.p, Rng), Math.max(3, o.runs >> 2), 1)]);
  tf.dispose([xf, xi]);
  console.log(`swapNoise on [${B}, ${D}], p = ${o.p}, backend ${tf.getBackend()}, ${o.runs} runs (goal <= 20 ms; numpy best: 28 ms)`);
  console.log('| what | median ms | best ms |');
  console.log('|---|---:|---:|');
  for (const [name, t] of rows) console.log(`| ${name} | ${t.median.toFixed(1)} | ${t.best.toFixed(1)} |`);
  return rows;
}

module.exports = { run };
