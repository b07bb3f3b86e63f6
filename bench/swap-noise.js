// swapNoise on a [65536, 64] batch, p = 0.15, cpu backend. Goal: <= 20 ms (numpy's sparse vectorised
// version, timed in the same run below, took 50-63 ms on this machine in Nov 2026). Row mode on a batch this
// large plans on two threads (see notebooks/11_tabular_aug.ipynb); the warm-up calls start the planning thread.
//
//   npm run bench -- swap-noise [--shape 65536x64] [--p 0.15] [--runs 15] [--backend cpu] [--no-numpy]
//
// Rows: the allocate + copy floor (`src.slice()` of the batch's Float32Array: what any op returning
// a new [B, D] tensor pays), then swapNoise as a user calls it (the whole call, then dispose x and
// mask) in row and column mode on float32 and int32, then a naive typed-array version that draws one
// uniform per cell from core's Rng (what the geometric-gap plan replaces), and numpy's sparse
// vectorised version in a python3 child process (skipped without python3/numpy, or with --no-numpy),
// so both are timed under the same load. Median and best of --runs after two warm-up calls. The machine is shared: numbers move with the load; compare within a run.
'use strict';
const { parseBenchArgs, shapeOf } = require('./_args');
const tf = require('@tensorflow/tfjs');

function parseArgs(args) {
  return parseBenchArgs('swap-noise', args, { shape: [65536, 64], p: 0.15, runs: 15, backend: 'cpu', numpy: true }, {
    '--shape': ['shape', shapeOf], '--p': ['p', 'number'], '--runs': ['runs', 'int'],
    '--backend': ['backend', 'string'], '--no-numpy': ['numpy', 'off'],
  });
}

/**
 * numpy's sparse vectorised swap noise (Bernoulli mask -> nonzero -> one partner row per chosen cell
 * -> fancy-index gather -> changed mask), timed in a python3 child process right now, so both sides
 * see the same machine load. Returns null when python3 or numpy is missing.
 */
function numpyReference(B, D, p, runs) {
  const script = `
import time, numpy as np
B, D, p, runs = ${B}, ${D}, ${p}, ${runs}
x = np.random.default_rng(1).standard_normal((B, D), dtype=np.float32)
rng = np.random.default_rng(0)
def swap(x):
    m = rng.random(x.shape, dtype=np.float32) < p
    r, c = np.nonzero(m)
    q = rng.integers(0, B - 1, size=r.size); q += q >= r
    out = x.copy(); out[r, c] = x[q, c]
    return out, out != x
swap(x); swap(x)
ts = []
for _ in range(runs):
    t = time.perf_counter(); swap(x); ts.append((time.perf_counter() - t) * 1e3)
ts.sort(); print(ts[len(ts) // 2], ts[0])
`;
  const r = require('child_process').spawnSync('python3', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return null;
  const [median, best] = r.stdout.trim().split(/\s+/).map(Number);
  return { median, best };
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
  if (o.numpy !== false) {
    const np = numpyReference(B, D, o.p, o.runs);
    if (np) rows.push(['numpy sparse vectorised (python3, now)', np]);
  }
  tf.dispose([xf, xi]);
  console.log(`swapNoise on [${B}, ${D}], p = ${o.p}, backend ${tf.getBackend()}, ${o.runs} runs (goal <= 20 ms; numpy: its row, timed now)`);
  console.log('| what | median ms | best ms |');
  console.log('|---|---:|---:|');
  for (const [name, t] of rows) console.log(`| ${name} | ${t.median.toFixed(1)} | ${t.best.toFixed(1)} |`);
  return rows;
}

module.exports = { run };
