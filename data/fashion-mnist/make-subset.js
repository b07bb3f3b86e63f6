// Rebuilds the embedded Fashion-MNIST subset in this folder from the full dataset:
//   apt-get install -y dataset-fashion-mnist
//   node data/fashion-mnist/make-subset.js [/usr/share/datasets/fashion-mnist]
// Keeps, for each class, the first PER_CLASS_TRAIN training and PER_CLASS_TEST test images in the
// original file order (no randomness), so the subset is balanced and reproducible.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const PER_CLASS_TRAIN = 1000;
const PER_CLASS_TEST = 200;
const src = process.argv[2] || '/usr/share/datasets/fashion-mnist';
const out = __dirname;

function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const ndim = buf[3];
  const shape = [];
  for (let i = 0; i < ndim; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  return { shape, data: buf.subarray(4 + 4 * ndim) };
}

function writeIdx(file, shape, data) {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = 0x08; // unsigned byte
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([head, data]), { level: 9 }));
}

for (const [prefix, perClass] of [['train', PER_CLASS_TRAIN], ['t10k', PER_CLASS_TEST]]) {
  const images = readIdx(path.join(src, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(path.join(src, `${prefix}-labels-idx1-ubyte.gz`));
  const pixels = images.shape[1] * images.shape[2];
  const counts = new Array(10).fill(0);
  const keep = [];
  for (let i = 0; i < labels.shape[0]; i++) {
    const k = labels.data[i];
    if (counts[k] < perClass) { counts[k]++; keep.push(i); }
  }
  const x = Buffer.alloc(keep.length * pixels);
  const y = Buffer.alloc(keep.length);
  keep.forEach((i, j) => { images.data.copy(x, j * pixels, i * pixels, (i + 1) * pixels); y[j] = labels.data[i]; });
  writeIdx(path.join(out, `${prefix}-images-idx3-ubyte.gz`), [keep.length, images.shape[1], images.shape[2]], x);
  writeIdx(path.join(out, `${prefix}-labels-idx1-ubyte.gz`), [keep.length], y);
  console.log(`${prefix}: ${keep.length} images, per class ${counts.join(',')}`);
}
