// One Adam training step of the small CNN of the training issue, per backend, with per-kernel times.
//
//   npm run bench -- train-step [--backends wasm,cpu] [--batch 128] [--steps 10] [--stock-cpu]
//
// Model: conv3x3·32 (relu) → maxpool 2 → conv3x3·64 (relu) → maxpool 2 → dense 10, softmax
// cross-entropy, Adam, on a random batch of 28×28×1 images. Each backend is set up by
// `setupBackend` (batchmix's gradient kernels registered). After two warm-up steps, `--steps` steps
// are timed (median and min reported), then a few more are profiled with `tf.profile`: the table
// gives the mean ms per step spent in each kernel. `--stock-cpu` also times ONE step with the stock
// TF.js cpu kernels (about 46–67 s here), and `--stock-wasm` shows that stock wasm cannot train
// (Conv2DBackpropFilter is missing). Numbers are noisy on a shared machine.
'use strict';
const { parseBenchArgs } = require('./_args');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const { setupBackend, registerKernels, unregisterKernels } = require('../dist/backend');

function parseArgs(args) {
  return parseBenchArgs('train-step', args, { backends: ['wasm', 'cpu'], batch: 128, steps: 10, profiled: 5, stockCpu: false, stockWasm: false }, {
    '--backends': ['backends', 'list'], '--batch': ['batch', 'int'], '--steps': ['steps', 'int'],
    '--profiled': ['profiled', 'int'], '--stock-cpu': ['stockCpu', 'on'], '--stock-wasm': ['stockWasm', 'on'],
  });
}

function smallCnn() {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

function makeStep(batch) {
  const model = smallCnn(), opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10).toFloat());
  const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
  const dispose = () => { tf.dispose([x, y]); model.dispose(); opt.dispose(); };
  return { step, dispose };
}

function median(a) { const s = [...a].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; }

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

/**
 * Wraps every kernel registered for `backend` so its CPU time is added to `acc[name]`: CPU time
 * (process.cpuUsage) rather than wall time, because on a shared machine wall time also counts the
 * time other processes hold the core. Returns a function that puts the kernels back.
 */
function timeKernels(backend, acc) {
  const configs = tf.getKernelsForBackend(backend);
  for (const k of configs) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({ ...k, kernelFunc: (args) => {
      // kernels that call other kernels (ours call BatchMatMul, Conv2D) count them as their own time
      if (acc.depth > 0) return k.kernelFunc(args);
      acc.depth++;
      const t0 = cpuMs();
      try { return k.kernelFunc(args); } finally {
        acc.calls[k.kernelName] = (acc.calls[k.kernelName] || 0) + cpuMs() - t0;
        acc.depth--;
      }
    } });
  }
  return () => { for (const k of configs) { tf.unregisterKernel(k.kernelName, backend); tf.registerKernel(k); } };
}

async function measure(backend, o, steps, profiled) {
  const { step, dispose } = makeStep(o.batch);
  const wall = [], cpu = [];
  let loss = NaN;
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now(), c0 = cpuMs();
    const l = step();
    loss = l.dataSync()[0];
    l.dispose();
    if (i >= 2 || steps === 0) { wall.push(performance.now() - t0); cpu.push(cpuMs() - c0); }
  }
  const acc = { calls: {}, depth: 0 };
  const restore = timeKernels(tf.getBackend(), acc);
  try {
    for (let i = 0; i < profiled; i++) { const l = step(); l.dataSync(); l.dispose(); }
  } finally { restore(); }
  const kernels = {};
  for (const [k, v] of Object.entries(acc.calls)) kernels[k] = v / Math.max(profiled, 1);
  dispose();
  return { backend, median: median(cpu), min: Math.min(...cpu), wall: median(wall), kernels, loss };
}

async function run(args) {
  const o = parseArgs(args);
  const results = [];
  for (const be of o.backends) {
    await setupBackend({ backend: be, quiet: true });
    results.push(await measure(be, o, o.steps, o.profiled));
  }
  if (o.stockWasm) {
    await tf.setBackend('wasm');
    unregisterKernels('wasm');
    try { await measure('stock wasm', o, 0, 0); } catch (e) { console.log(`stock wasm: ${e.message}`); }
    await registerKernels('wasm');
  }
  if (o.stockCpu) {
    await tf.setBackend('cpu');
    unregisterKernels('cpu');
    console.log('timing one step with the stock cpu kernels (about a minute)...');
    const { step, dispose } = makeStep(o.batch);
    const t0 = performance.now(), c0 = cpuMs();
    step().dispose();
    results.push({ backend: 'stock cpu', median: cpuMs() - c0, min: NaN, wall: performance.now() - t0, kernels: {}, loss: NaN });
    dispose();
    await registerKernels('cpu');
  }
  const names = new Set();
  for (const r of results) for (const k of Object.keys(r.kernels)) names.add(k);
  const total = (k) => results.reduce((s, r) => s + (r.kernels[k] || 0) / (r.median || 1), 0);
  const rows = [...names].sort((a, b) => total(b) - total(a)).filter((k) => results.some((r) => (r.kernels[k] || 0) >= 0.05));
  const w = Math.max(24, ...rows.map((k) => k.length + 2));
  const col = (s) => String(s).padStart(12);
  console.log(`small CNN, batch ${o.batch}, 28x28x1, Adam. CPU ms per step: median (min) of ${o.steps} steps, and wall ms;`);
  console.log(`CPU ms per kernel: mean of ${o.profiled} steps with every kernel wrapped in a timer (kernels only: the rest is tf.js bookkeeping)`);
  console.log(`${'kernel (CPU ms)'.padEnd(w)}${results.map((r) => col(r.backend)).join('')}`);
  for (const k of rows) console.log(`${k.padEnd(w)}${results.map((r) => col(r.kernels[k] != null ? r.kernels[k].toFixed(1) : '')).join('')}`);
  console.log(`${'sum of kernels'.padEnd(w)}${results.map((r) => col(Object.keys(r.kernels).length ? Object.values(r.kernels).reduce((s, v) => s + v, 0).toFixed(1) : '')).join('')}`);
  console.log(`${'step (median)'.padEnd(w)}${results.map((r) => col(r.median.toFixed(1))).join('')}`);
  console.log(`${'step (min)'.padEnd(w)}${results.map((r) => col(Number.isNaN(r.min) ? '' : r.min.toFixed(1))).join('')}`);
  console.log(`${'step wall (median)'.padEnd(w)}${results.map((r) => col(r.wall.toFixed(1))).join('')}`);
  const load = require('os').loadavg()[0];
  console.log(`load average ${load.toFixed(1)} on ${require('os').cpus().length} cores${load > 1.5 ? ': the machine is shared, timings are noisy' : ''}`);
  if (!o.stockCpu) console.log('stock cpu (without batchmix kernels): 46–67 s per step here; --stock-cpu measures one step');
  return results;
}

module.exports = { run };
