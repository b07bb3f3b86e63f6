// Training-loop speed: images/s of the Learner's step for the small CNN and the small xresnet at 64 px,
// with and without CutMix, and the throughput of 2 worker threads against 1.
//
//   npm run bench -- train [--models cnn:16,resnet:16] [--size 64] [--batch 64] [--steps 8]
//                          [--backend wasm] [--workers-model cnn:16] [--no-workers]
//
// Part 1 runs `Learner.fit(1)` on random in-memory images (fresh tensors per batch, as a loader
// yields them), `steps` timed steps after 2 warm-up steps, and reports the median step time and
// images/s without mixing and with `MixCallback(cutmix)`. Because two noisy medians are a poor way
// to measure a 1% difference, it also times CutMix alone on the same batch (median of 20 calls):
// "CutMix share" is that time over the plain step's time (goal: ≤ 2%).
// Part 2 starts 1, then 2 worker threads, each training the same model (`--workers-model`) for
// the same number of steps with its own backend, and reports the total images/s (goal: 2 workers
// ≥ 1.5× one). Numbers are noisy while other processes share the two cores: compare within a run.
'use strict';
const { parseBenchArgs } = require('./_args');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const DIST = path.join(__dirname, '..', 'dist');

function parseArgs(args) {
  return parseBenchArgs('train', args, { models: ['cnn:16', 'resnet:16'], size: 64, batch: 64, steps: 8, backend: undefined, workersModel: 'cnn:16', workers: true, workerSteps: 12 }, {
    '--models': ['models', 'list'], '--size': ['size', 'int'], '--batch': ['batch', 'int'], '--steps': ['steps', 'int'],
    '--backend': ['backend', 'string'], '--workers-model': ['workersModel', 'string'], '--worker-steps': ['workerSteps', 'int'],
    '--no-workers': ['workers', 'off'],
  });
}

function median(a) { const s = [...a].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; }

/** A loader of `n` batches of random images: fresh tensors per batch, as the data loaders yield them. */
function randomLoader(n, batch, size, channels, classes, seed) {
  const per = size * size * channels;
  const pool = new Float32Array(batch * per);
  let s = seed >>> 0;
  for (let i = 0; i < pool.length; i++) { s = (s * 1664525 + 1013904223) >>> 0; pool[i] = s / 4294967296; }
  const labels = Int32Array.from({ length: batch }, (_, i) => i % classes);
  return {
    length: n,
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield { x: tf.tensor4d(pool, [batch, size, size, channels]), y: tf.tensor1d(labels, 'int32') };
    },
  };
}

/** Median step time (ms) of Learner.fit over `steps` steps after 2 warm-up steps. */
async function timeSteps(modelSpec, o, withCutmix) {
  const { Learner, MixCallback } = require(path.join(DIST, 'learner'));
  const { makeModel } = require(path.join(DIST, 'models'));
  const { cutmix } = require(path.join(DIST, 'cutmix'));
  const model = makeModel(modelSpec, { inputShape: [o.size, o.size, 3], numClasses: 10, seed: 1 });
  const stamps = [];
  const timer = { order: 200, afterBatch: () => { stamps.push(performance.now()); } };
  const callbacks = [timer];
  if (withCutmix) callbacks.unshift(new MixCallback(cutmix, { alpha: 1, seed: 1 }));
  const learn = new Learner({ model, train: randomLoader(o.steps + 3, o.batch, o.size, 3, 10, 7), lr: 1e-3, callbacks, quiet: true });
  await learn.fit(1);
  learn.optimizer.dispose();
  model.dispose();
  const steps = stamps.slice(2).map((t, i) => t - stamps[i + 1]);
  return median(steps);
}

/** Median time (ms) of cutmix alone on one batch. */
function timeCutmix(o) {
  const { cutmix } = require(path.join(DIST, 'cutmix'));
  const { makeRng } = require(path.join(DIST, 'core'));
  const x = tf.randomUniform([o.batch, o.size, o.size, 3]);
  const y = tf.tensor1d(Int32Array.from({ length: o.batch }, (_, i) => i % 10), 'int32');
  const rng = makeRng(1);
  const times = [];
  for (let i = 0; i < 22; i++) {
    const t0 = performance.now();
    const m = cutmix({ x, y }, { alpha: 1, seed: rng, numClasses: 10 });
    m.x.dataSync();
    if (i >= 2) times.push(performance.now() - t0);
    tf.dispose([m.x, m.y]);
  }
  tf.dispose([x, y]);
  return median(times);
}

/** Total images/s of `n` worker threads, each training `steps` steps of `modelSpec`. */
async function workerThroughput(n, o) {
  const { Worker } = require('worker_threads');
  const code = `
    const { parentPort, workerData: w } = require('worker_threads');
    const tf = require('@tensorflow/tfjs');
    (async () => {
      const { setupBackend } = require(${JSON.stringify(path.join(DIST, 'backend'))});
      const { Learner } = require(${JSON.stringify(path.join(DIST, 'learner'))});
      const { makeModel } = require(${JSON.stringify(path.join(DIST, 'models'))});
      await setupBackend({ backend: w.backend, quiet: true });
      const per = w.size * w.size * 3, pool = new Float32Array(w.batch * per).map((_, i) => (i % 251) / 251);
      const labels = Int32Array.from({ length: w.batch }, (_, i) => i % 10);
      const loader = { length: w.steps, *[Symbol.iterator]() { for (let i = 0; i < w.steps; i++) yield { x: tf.tensor4d(pool, [w.batch, w.size, w.size, 3]), y: tf.tensor1d(labels, 'int32') }; } };
      const model = makeModel(w.model, { inputShape: [w.size, w.size, 3], numClasses: 10, seed: 1 });
      // warm up (kernels compiled, buffers allocated), then wait for the go signal
      const warm = new Learner({ model, train: { length: 1, *[Symbol.iterator]() { yield { x: tf.tensor4d(pool, [w.batch, w.size, w.size, 3]), y: tf.tensor1d(labels, 'int32') }; } }, quiet: true });
      await warm.fit(1);
      parentPort.postMessage({ type: 'ready' });
      parentPort.once('message', async () => {
        const t0 = performance.now();
        await new Learner({ model, train: loader, quiet: true }).fit(1);
        parentPort.postMessage({ type: 'done', images: w.steps * w.batch, ms: performance.now() - t0 });
      });
    })();`;
  const workers = Array.from({ length: n }, () => new Worker(code, { eval: true, workerData: { backend: o.backend, size: o.size, batch: o.batch, steps: o.workerSteps, model: o.workersModel } }));
  await Promise.all(workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
  const t0 = performance.now();
  const done = await Promise.all(workers.map((w) => { const p = new Promise((res, rej) => { w.once('message', res); w.once('error', rej); }); w.postMessage('go'); return p; }));
  const wall = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  const images = done.reduce((s, d) => s + d.images, 0);
  return { imagesPerSec: images / wall * 1000, wall };
}

async function run(args) {
  const o = parseArgs(args);
  const { setupBackend } = require(path.join(DIST, 'backend'));
  const { modelMacs, makeModel } = require(path.join(DIST, 'models'));
  const info = await setupBackend({ backend: o.backend, quiet: true });
  console.log(`backend ${info.name}, batch ${o.batch}, ${o.size}×${o.size}×3, ${o.steps} timed steps; load average ${require('os').loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const cm = timeCutmix(o);
  console.log('\n| model | MACs/img (fwd) | step ms | img/s | step ms with CutMix | img/s with CutMix | CutMix alone ms | CutMix share |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const spec of o.models) {
    const m = makeModel(spec, { inputShape: [o.size, o.size, 3], numClasses: 10 });
    const macs = modelMacs(m);
    m.dispose();
    const plain = await timeSteps(spec, o, false);
    const mixed = await timeSteps(spec, o, true);
    console.log(`| ${spec} | ${(macs / 1e6).toFixed(1)} M | ${plain.toFixed(0)} | ${(o.batch / plain * 1000).toFixed(0)} | ${mixed.toFixed(0)} | ${(o.batch / mixed * 1000).toFixed(0)} | ${cm.toFixed(1)} | ${(100 * cm / plain).toFixed(1)}% |`);
  }
  if (o.workers) {
    const one = await workerThroughput(1, o);
    const two = await workerThroughput(2, o);
    console.log(`\n| workers (${o.workersModel}, ${o.workerSteps} steps each) | total img/s | wall s |`);
    console.log('|---:|---:|---:|');
    console.log(`| 1 | ${one.imagesPerSec.toFixed(0)} | ${(one.wall / 1000).toFixed(1)} |`);
    console.log(`| 2 | ${two.imagesPerSec.toFixed(0)} | ${(two.wall / 1000).toFixed(1)} |`);
    console.log(`\nspeed-up of 2 workers over 1: ${(two.imagesPerSec / one.imagesPerSec).toFixed(2)}× (goal ≥ 1.5×)`);
  }
}

module.exports = { run };
if (require.main === module) run(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(1); });
