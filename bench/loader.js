// Image loading speed: decode + resize to 128 px + float conversion, images per second.
//
//   npm run bench -- loader [--data DIR] [--n 2000] [--size 128] [--source 224] [--runs 3] [--concurrency 4]
//
// DIR is an ImageFolder tree (train/<class>/*.JPEG), by default $BATCHMIX_IMAGENETTE. With
// `--source 224` (the default) the first N training images are first re-encoded at 224x224 (JPEG
// quality 90) into a temporary folder, the image size the issue's yardstick was measured on; with
// `--source 0` the images are read as they are. Rows:
//   sharp decode only         sharp -> raw bytes, 4 at a time (the ceiling for any sharp path)
//   sharp resize (lanczos3)   sharp's default resize to 128x128, raw -> float32 (the naive path)
//   sharp resize (linear)     the same with the cheaper kernel
//   batchmix readImage (sharp)       our path: sharp decode, then the triangle (Pillow-bilinear)
//                                    resize in WebAssembly SIMD, centre crop, float32
//   batchmix readImage (jpeg-turbo)  the same with the @cwasm/jpeg-turbo decoder in a pool of worker
//                                    threads, which read, decode and resize (the default path)
//   batchmix imageFolder first epoch  the loader itself (default decoder, cache and prefetch; the cache
//                                    emptied before each round): the same files as one class of an
//                                    ImageFolder tree, 64-image float32 batches (tensors), centre crop
//   Pillow (1 process)        Debian's /usr/bin/python3 + python3-pil (+ python3-numpy):
//                             open, convert('RGB'), resize(BILINEAR), np.asarray(float32) / 255
// Files are read from disk each time (the OS cache is warm after the warm-up run). The rows are timed
// in --runs rounds, each round timing every row once (Pillow included), so that other work on the
// machine disturbs all rows alike; each row reports its best round: wall-clock images/s, and CPU ms per
// image (all threads), which other work on the machine disturbs less; "idle estimate" = cores / CPU
// time (ours: thread pool or worker threads on every core) or 1 / CPU time (Pillow: one process). Wall
// numbers are noisy while other work runs: compare rows of one run, not across runs. The last line
// compares our readImage bytes with Pillow's on the first 200 images.
'use strict';
const { parseBenchArgs } = require('./_args');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const sharp = require('sharp');
const { readImage, imageFolder, clearImageCache, jpegTurboAvailable, closeDecoders } = require('../dist/data');

function parseArgs(args) {
  return parseBenchArgs('loader', args, { data: process.env.BATCHMIX_IMAGENETTE || '', n: 2000, size: 128, source: 224, runs: 3, concurrency: 4 }, {
    '--data': ['data', 'string'], '--n': ['n', 'int'], '--size': ['size', 'int'], '--source': ['source', 'int'],
    '--runs': ['runs', 'int'], '--concurrency': ['concurrency', 'int'],
  });
}

function listImages(root, n) {
  const dir = path.join(root, 'train');
  if (!fs.existsSync(dir)) throw new Error(`bench loader: ${root} has no train/ folder (ImageFolder layout)`);
  const classes = fs.readdirSync(dir).sort();
  const perClass = classes.map((c) => fs.readdirSync(path.join(dir, c)).sort().map((f) => path.join(dir, c, f)));
  const out = [];
  for (let i = 0; out.length < n && perClass.some((l) => i < l.length); i++) for (const l of perClass) if (i < l.length && out.length < n) out.push(l[i]);
  return out;
}

async function pool(items, concurrency, f) {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (i < items.length) await f(items[i++]); }));
}

function toFloatCrop(im, S) {
  const oy = (im.height - S) >> 1, ox = (im.width - S) >> 1, out = new Float32Array(S * S * 3), src = im.data, L = S * 3;
  for (let y = 0; y < S; y++) {
    const row = ((oy + y) * im.width + ox) * 3, o = y * L;
    for (let k = 0; k < L; k++) out[o + k] = src[row + k] / 255;
  }
  return out;
}

function toFloat(data, channels, n) {
  const out = new Float32Array(n * 3);
  if (channels >= 3) for (let i = 0, j = 0; i < n; i++, j += channels) { out[3 * i] = data[j] / 255; out[3 * i + 1] = data[j + 1] / 255; out[3 * i + 2] = data[j + 2] / 255; }
  else for (let i = 0; i < n; i++) { const v = data[i * channels] / 255; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v; }
  return out;
}

async function timeOnce(files, f) {
  const t = process.hrtime.bigint(), c = process.cpuUsage();
  await f(files);
  const d = process.cpuUsage(c);
  return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: (d.user + d.system) / 1000 / files.length }; // all threads of this process
}

function pillowRate(files, size, runs, dump) {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return { rate: null, why: 'no /usr/bin/python3' };
  const script = `
import sys, time
try:
    from PIL import Image
    import numpy as np
except ImportError as e:
    print('missing', e); sys.exit(0)
files = [l.rstrip('\\n') for l in open(sys.argv[1])]
size = int(sys.argv[2]); best = 1e9; cpu = 1e9
for r in range(int(sys.argv[3]) + 1):
    t = time.perf_counter(); c = time.process_time()
    for f in files:
        a = np.asarray(Image.open(f).convert('RGB').resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    if r:
        best = min(best, time.perf_counter() - t); cpu = min(cpu, time.process_time() - c)
print('rate', len(files) / best, 1000 * cpu / len(files))
with open(sys.argv[4] or '/dev/null', 'wb') as out:  # the first images' bytes, to compare pixels with ours
    for f in files[:int(sys.argv[5])]:
        out.write(np.asarray(Image.open(f).convert('RGB').resize((size, size), Image.BILINEAR), dtype=np.uint8).tobytes())
`;
  const list = path.join(os.tmpdir(), `batchmix-bench-files-${process.pid}.txt`);
  fs.writeFileSync(list, files.join('\n'));
  try {
    const out = execFileSync(py, ['-c', script, list, String(size), String(runs), dump.file, String(dump.n)], { encoding: 'utf8' }).trim();
    if (out.startsWith('missing')) return { rate: null, cpu: null, why: `${out} (apt-get install -y python3-pil python3-numpy)` };
    const [, rate, cpu] = out.split(' ').map(Number);
    return { rate, cpu, why: '' };
  } finally { fs.rmSync(list, { force: true }); }
}

/** Our readImage bytes (square sources: the short side is the size) against Pillow's, byte by byte. */
async function compareWithPillow(files, S, file) {
  const theirs = fs.readFileSync(file), per = S * S * 3;
  if (theirs.length !== files.length * per) return null;
  let max = 0, sum = 0, off = 0, n = 0;
  for (let i = 0; i < files.length; i++) {
    const im = await readImage(files[i], S);
    if (im.height !== S || im.width !== S) return null;
    for (let k = 0; k < per; k++) { const d = Math.abs(im.data[k] - theirs[i * per + k]); max = Math.max(max, d); sum += d; off += d ? 1 : 0; }
    n++;
  }
  await closeDecoders();
  return { n, max, mean: sum / (n * per), off: off / (n * per) };
}

async function run(args) {
  const o = parseArgs(args);
  if (!o.data) {
    console.log('bench loader: no data (pass --data DIR or set BATCHMIX_IMAGENETTE to an ImageFolder tree); skipped');
    return;
  }
  let files = listImages(o.data, o.n);
  let tmp = null;
  if (o.source > 0) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchmix-bench-'));
    const src = files;
    fs.mkdirSync(path.join(tmp, 'train', 'images'), { recursive: true });
    files = src.map((f, i) => path.join(tmp, 'train', 'images', `${String(i).padStart(5, '0')}.JPEG`));
    // keep gray JPEGs gray, as in the dataset
    await pool(src.map((f, i) => [f, files[i]]), 4, ([a, b]) => sharp(a).resize(o.source, o.source, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(b));
  }
  const S = o.size, c = o.concurrency;
  let agreement = null;
  sharp.cache(false);
  const rows = [];
  try {
    const meta = await sharp(files[0]).metadata();
    console.log(`${files.length} images (${meta.width}x${meta.height} JPEG${o.source ? `, re-encoded from ${o.data}` : ''}) -> ${S}x${S} float32; `
      + `${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; best of ${o.runs} rounds`);
    const paths = [
      ['sharp decode only', async (fs_) => pool(fs_, c, (f) => sharp(f).raw().toBuffer())],
      ['sharp resize (lanczos3) + float', async (fs_) => pool(fs_, c, async (f) => {
        const { data, info } = await sharp(f).resize(S, S, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
        toFloat(data, info.channels, S * S);
      })],
      ['sharp resize (linear) + float', async (fs_) => pool(fs_, c, async (f) => {
        const { data, info } = await sharp(f).resize(S, S, { fit: 'cover', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
        toFloat(data, info.channels, S * S);
      })],
      ['batchmix readImage (sharp) + float', async (fs_) => pool(fs_, c, async (f) => {
        const im = await readImage(f, S, { decoder: 'sharp' });
        toFloatCrop(im, S);
      })],
      ['batchmix readImage (jpeg-turbo workers) + float', jpegTurboAvailable() ? async (fs_) => pool(fs_, c, async (f) => {
        const im = await readImage(f, S, { decoder: 'jpeg-turbo' });
        toFloatCrop(im, S);
      }) : null, 'npm install @cwasm/jpeg-turbo'],
      ['batchmix imageFolder first epoch (float32 batches)', tmp ? async () => {
        clearImageCache(); // a first epoch: every image decoded (and cached), default prefetch
        const dl = await imageFolder(tmp, { split: 'train', size: S, resize: S, batchSize: 64, shuffle: false, randomCrop: false, flip: false,
          dropLast: false, normalize: false, concurrency: c });
        for await (const b of dl.batches(0)) { b.x.dispose(); b.y.dispose(); }
        clearImageCache();
      } : null, 'needs --source > 0'],
    ];
    for (const [, f] of paths.slice(0, 1)) await f(files); // warm the OS cache
    // rounds: every path once per round (Pillow too), so that other work on the machine hits all rows alike
    const best = paths.map(() => ({ wall: Infinity, cpu: Infinity }));
    const dump = { file: path.join(os.tmpdir(), `batchmix-bench-pillow-${process.pid}.raw`), n: Math.min(200, files.length) };
    let pil = { rate: null, cpu: null, why: '' };
    for (let r = 0; r < o.runs; r++) {
      for (let i = 0; i < paths.length; i++) {
        if (!paths[i][1]) continue;
        const t = await timeOnce(files, paths[i][1]);
        best[i].wall = Math.min(best[i].wall, t.wall);
        best[i].cpu = Math.min(best[i].cpu, t.cpu);
      }
      const p = pillowRate(files, S, 1, r === o.runs - 1 ? dump : { file: '', n: 0 });
      if (p.rate == null) pil = p;
      else pil = { rate: Math.max(pil.rate ?? 0, p.rate), cpu: Math.min(pil.cpu ?? Infinity, p.cpu), why: '' };
    }
    await closeDecoders();
    paths.forEach(([name, f, why], i) => {
      if (!f) rows.push([name, null, null, why]);
      else rows.push([name, files.length / best[i].wall, best[i].cpu, '']);
    });
    rows.push(['Pillow (1 process, bilinear) + float', pil.rate, pil.cpu, pil.why]);
    if (pil.rate != null && fs.existsSync(dump.file)) agreement = await compareWithPillow(files.slice(0, dump.n), S, dump.file);
    fs.rmSync(dump.file, { force: true });
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  // CPU ms per image is robust to other work on the machine; an idle-machine estimate follows from it:
  // our paths use every core (the thread pool decodes in parallel), Pillow's loop one.
  const cores = os.cpus().length;
  const [, pilRate, pilCpu] = rows[rows.length - 1];
  console.log(`| path | images/s (measured) | vs Pillow | CPU ms / image | idle estimate, images/s |\n|---|---:|---:|---:|---:|`);
  for (const [name, rate, cpu, why] of rows) {
    if (rate == null) { console.log(`| ${name} | n/a (${why}) | | | |`); continue; }
    const idle = (name.startsWith('Pillow') ? 1 : cores) * 1000 / cpu;
    console.log(`| ${name} | ${rate.toFixed(0)} | ${pilRate ? (rate / pilRate).toFixed(2) : ''} | ${cpu.toFixed(2)} | ${idle.toFixed(0)} |`);
  }
  if (pilCpu) console.log(`(idle estimate: ${cores} cores / CPU time for our paths, 1 core for Pillow's single process; load ${os.loadavg()[0].toFixed(1)})`);
  if (agreement) {
    console.log(`pixels of readImage vs Pillow on the first ${agreement.n} images (uint8, before the float conversion): `
      + `max |diff| ${agreement.max}, mean |diff| ${agreement.mean.toFixed(4)}, ${(100 * agreement.off).toFixed(2)}% of values differ`);
  }
  return rows;
}

module.exports = { run };
