// Image mixing augmentations against the memory-copy floor.
//
//   npm run bench -- augment [--backends cpu,wasm] [--shapes 128x224x224x3,512x28x28x1]
//                            [--methods mixup,ricap] [--runs 15] [--seed 1234] [--warmup 250]
//
// For each backend and batch shape, two floors are timed in this same process on the batch's own
// Float32Array: `dst.set(src)` (copy into an existing array) and `src.slice()` (allocate + copy:
// what any op returning a new tensor must pay). Then each method and mode is timed as a user calls
// it: the whole call with labels (int labels + numClasses), then dispose of x and y. Cases are timed
// in interleaved rounds (each case once per round, in a new shuffled order, after --warmup ms of
// calls): times are medians over the rounds, ratios the medians of the per-round ratios to the
// floors (robust to load drift).
// Every timed call draws with a new seed: seed + 1, seed + 2, … per case (in the rounds, after the
// warm-up), where `--seed` defaults to a new value each run (printed, to repeat a run). With the same seeds every run, a case that happened to
// get larger boxes read high in every run (CutMix `pair` on cpu at 224 px: 1.47–1.58 against
// 1.08–1.32 for `batch` and `elem`, which do the same work).
// Numbers are noisy on a shared machine: compare ratios from one run, not across runs. --runs is
// the rounds at 224 px (three times as many for the smaller batches); 15 by default, since with 9
// one run of a row near 1.3 could read 1.24 and the next 1.48.
'use strict';
const { parseBenchArgs, shapeOf } = require('./_args');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

const SHAPES = [[128, 224, 224, 3], [256, 64, 64, 3], [512, 28, 28, 1]];
const MODES = ['batch', 'pair', 'elem'];
// [module under dist/, exported function, extra options per variant]
const METHODS = [
  ['mixup', 'mixup', [{}]],
  ['cutmix', 'cutmix', [{}]],
  ['cutout', 'cutout', [{}]],
  ['ricap', 'ricap', [{}]],
  ['patchmix', 'patchmix', [{ grid: [1, 3] }, { grid: [3, 3] }]],
];

function parseArgs(args) {
  const opt = parseBenchArgs('augment', args, { backends: ['cpu', 'wasm'], shapes: SHAPES, methods: null, runs: 15, seed: null, warmup: 250 }, {
    '--backends': ['backends', 'list'], '--shapes': ['shapes', (v) => v.split(',').map(shapeOf)],
    '--methods': ['methods', 'list'], '--runs': ['runs', 'int'], '--seed': ['seed', 'int'], '--warmup': ['warmup', 'number'],
  });
  if (opt.seed === null) opt.seed = Date.now() % 1000000;
  return opt;
}

function ms(f) {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function loadMethod(mod, name) {
  try {
    const m = require(`../dist/${mod}`);
    return typeof m[name] === 'function' ? m[name] : null;
  } catch {
    return null;
  }
}

async function run(args) {
  const opt = parseArgs(args);
  const rows = [];
  const fmt = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  console.log('Medians over interleaved rounds (every case timed once per round, floors included, in a new');
  console.log('shuffled order each round), so load changes on a shared machine hit every case alike and garbage');
  console.log('collections fall on every case alike; "× floor" is the median of the per-round ratios to');
  console.log('src.slice() (allocate + copy).');
  console.log(`Seeds: ${opt.seed} + 1, + 2, … for every case (--seed ${opt.seed} repeats them).\n`);
  console.log('| backend | shape | method | mode | ms | × alloc+copy floor | × copy floor |');
  console.log('|---|---|---|---|---:|---:|---:|');
  for (const backend of opt.backends) {
    if (!(await tf.setBackend(backend))) { console.log(`| ${backend} | backend unavailable |||||`); continue; }
    await tf.ready();
    for (const shape of opt.shapes) {
      const [B] = shape;
      const n = shape.reduce((a, b) => a * b, 1);
      const rounds = n > 4e6 ? opt.runs : opt.runs * 3;
      const x = tf.tidy(() => tf.randomUniform(shape, 0, 1, 'float32'));
      const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32');
      const src = Float32Array.from(x.dataSync());
      const dst = new Float32Array(n);
      const s = shape.join('x');
      const before = tf.memory().numTensors;
      // Every case: a label, and a function doing one full call.
      const cases = [
        { method: 'floor: dst.set(src)', mode: '', f: () => dst.set(src) },
        { method: 'floor: src.slice()', mode: '', f: () => src.slice() },
      ];
      for (const [mod, name, variants] of METHODS) {
        if (opt.methods && !opt.methods.includes(name)) continue;
        const fn = loadMethod(mod, name);
        if (!fn) { console.log(`| ${backend} | ${s} | ${name} | not built ||||`); continue; }
        for (const extra of variants) {
          const label = name + (extra.grid ? ` ${extra.grid.join('x')}` : '');
          for (const mode of MODES) {
            const opts = { ...extra, mode, numClasses: 10 };
            try {
              const m = fn({ x, y }, { ...opts, seed: 0 });
              m.x.dispose(); m.y.dispose();
            } catch (e) {
              if (/mode/.test(String(e && e.message))) continue; // mode not offered by this method
              console.log(`| ${backend} | ${s} | ${label} | ${mode} | error: ${e.message} ||`);
              continue;
            }
            const c = { method: label, mode, calls: 0 };
            c.f = () => { const m = fn({ x, y }, { ...opts, seed: opt.seed + 1 + c.calls++ }); m.x.dispose(); m.y.dispose(); };
            cases.push(c);
          }
        }
      }
      // Warm-up: each case runs for --warmup ms (at least twice) before the rounds, so that V8 has
      // optimised its JavaScript and tiered its WebAssembly up, as in a training loop. Two calls
      // alone left the cases at [512, 28, 28, 1] (a fraction of a millisecond each) in the baseline
      // tiers for much of the run: RICAP read 0.31 ms where a warm loop takes 0.19 ms.
      // The seeds start again after it, so the timed rounds see the same seeds whatever the warm-up ran.
      for (const c of cases) { const t0 = Date.now(); let w = 0; while (w < 2 || Date.now() - t0 < opt.warmup) { c.f(); w++; } c.calls = 0; c.t = new Array(rounds); }
      // Each round runs the cases in a new shuffled order (a fixed-seed shuffle), so no case always
      // follows the same one: the garbage a call leaves (a 77 MB array for the floor) is freed by a
      // GC that whichever call comes next may pay for. (A forced, untimed gc() before every call
      // was tried: it made V8 throw away compiled code, and the methods ran 5-30x slower.)
      let state = 12345;
      const rand = (n) => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return Math.floor((state / 4294967296) * n); };
      const order = cases.map((_, q) => q);
      for (let r = 0; r < rounds; r++) {
        for (let q = order.length - 1; q > 0; q--) { const j = rand(q + 1); [order[q], order[j]] = [order[j], order[q]]; }
        for (const q of order) cases[q].t[r] = ms(cases[q].f);
      }
      const med = (a) => { const b = [...a].sort((u, v) => u - v); return b[b.length >> 1]; };
      const floorT = cases[1].t, copyT = cases[0].t;
      for (const c of cases) {
        const t = med(c.t);
        const ratio = med(c.t.map((v, r) => v / floorT[r]));
        const ratioCopy = med(c.t.map((v, r) => v / copyT[r]));
        rows.push({ backend, shape: s, method: c.method, mode: c.mode, ms: t, ratio, ratioCopy });
        console.log(`| ${backend} | ${s} | ${c.method} | ${c.mode} | ${fmt(t)} | ${ratio.toFixed(2)} | ${ratioCopy.toFixed(1)} |`);
      }
      const leaked = tf.memory().numTensors - before;
      if (leaked !== 0) console.log(`| ${backend} | ${s} | LEAK: ${leaked} tensors ||||`);
      x.dispose(); y.dispose();
    }
  }
  return rows;
}

module.exports = { run };
if (require.main === module) run(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(1); });
