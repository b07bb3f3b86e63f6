#!/usr/bin/env node
// Runs notebooks in-process with tslab's own converter and executor: no Jupyter, no nbconvert.
//
//   node tools/run-notebook.js notebooks/04_cutmix.ipynb [more.ipynb ...] [--write] [--quiet]
//
// Code cells run in order in one executor (as in a kernel), from the notebook's own folder, skipping
// `//| eval: false` cells. Console output and `tslab.display` calls are captured per cell; with
// --write they are stored as the cells' outputs (clean: no counts, no timings). A failing cell stops
// the notebook; the message names notebook, cell index and error, and the exit code is 1.
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');
const { readNotebook } = require('./notebook');
const { cleanNotebookJson, serializeNotebook } = require('./export');

const ROOT = path.resolve(__dirname, '..');

function toLines(text) {
  const ls = text.split('\n');
  return ls.map((l, i) => (i < ls.length - 1 ? l + '\n' : l)).filter((l) => l !== '');
}

/** Runs one notebook; returns {ok, failure?, outputs: Map(cellIndex → outputs[])}. */
async function runNotebook(file, { echo = true } = {}) {
  const abs = path.resolve(ROOT, file);
  const nb = readNotebook(path.relative(ROOT, abs), ROOT);
  const { createConverter } = require('tslab/dist/converter');
  const { createExecutor } = require('tslab/dist/executor');
  const jupyter = require('tslab/dist/jupyter');
  // tfjs greets Node users without tfjs-node on the first tensor; keep that out of the outputs.
  try { require(require.resolve('@tensorflow/tfjs-core', { paths: [ROOT] })).env().set('PROD', true); } catch { /* no tfjs */ }
  const prevCwd = process.cwd();
  process.chdir(path.dirname(abs));
  const conv = createConverter();
  let current = null; // outputs of the running cell
  const pushStream = (name, text) => {
    if (!current) return;
    const last = current[current.length - 1];
    if (last && last.output_type === 'stream' && last.name === name) last.text += text;
    else current.push({ output_type: 'stream', name, text });
  };
  const errors = [];
  const kernelConsole = {
    log: (...a) => pushStream('stdout', util.format(...a) + '\n'),
    error: (...a) => { const t = util.format(...a); errors.push(t); pushStream('stderr', t + '\n'); },
  };
  const ex = createExecutor(process.cwd(), { node: conv, browser: conv, close: () => conv.close() }, kernelConsole);
  jupyter.lastWriteDisplayData = (msg) => {
    if (current) current.push({ output_type: 'display_data', data: msg.data, metadata: {} });
  };
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const outputs = new Map();
  let failure = null;
  const rejections = [];
  const onRejection = (e) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  try {
    for (const cell of nb.cells) {
      if (cell.type !== 'code' || cell.directives.evalFalse || !cell.body.trim()) continue;
      current = [];
      errors.length = 0;
      process.stdout.write = (chunk, ...rest) => { pushStream('stdout', String(chunk)); if (echo) origOut(chunk, ...rest); return true; };
      process.stderr.write = (chunk, ...rest) => { pushStream('stderr', String(chunk)); if (echo) origErr(chunk, ...rest); return true; };
      let ok;
      try {
        ok = await ex.execute(cell.source);
      } catch (e) {
        ok = false;
        errors.push(e && e.stack ? e.stack : String(e));
      } finally {
        process.stdout.write = origOut;
        process.stderr.write = origErr;
      }
      if (rejections.length) { ok = false; errors.push(String(rejections[0] && rejections[0].stack || rejections[0])); }
      outputs.set(cell.index, current.map((o) => (o.output_type === 'stream' ? { ...o, text: toLines(o.text) } : o)));
      if (!ok) {
        const why = errors.join('\n').trim() || 'the cell failed (no message)';
        failure = `${nb.file} cell ${cell.index}: ${why.split('\n').slice(0, 12).join('\n')}`;
        break;
      }
    }
  } finally {
    current = null;
    jupyter.lastWriteDisplayData = null;
    process.removeListener('unhandledRejection', onRejection);
    ex.close();
    process.chdir(prevCwd);
  }
  return { ok: !failure, failure, outputs, nb };
}

/** Stores outputs in the notebook file, cleaned. Cells that did not run keep no outputs. */
function writeOutputs(nb, outputs) {
  const json = JSON.parse(JSON.stringify(nb.json));
  json.cells.forEach((c, i) => { if (c.cell_type === 'code') c.outputs = outputs.get(i) || []; });
  fs.writeFileSync(path.resolve(ROOT, nb.file), serializeNotebook(cleanNotebookJson(json)));
}

async function main(argv) {
  const write = argv.includes('--write');
  const quiet = argv.includes('--quiet');
  const files = argv.filter((a) => !a.startsWith('--'));
  if (!files.length) {
    console.error('usage: node tools/run-notebook.js <notebook.ipynb> [...] [--write] [--quiet]');
    return 2;
  }
  let failed = 0;
  for (const f of files) {
    const t0 = Date.now();
    const r = await runNotebook(f, { echo: !quiet });
    if (!r.ok) {
      failed += 1;
      console.error(`FAIL ${r.failure}`);
      continue;
    }
    if (write) writeOutputs(r.nb, r.outputs);
    console.error(`ok   ${f} (${((Date.now() - t0) / 1000).toFixed(1)} s)${write ? ', outputs written' : ''}`);
  }
  return failed ? 1 : 0;
}

module.exports = { runNotebook, writeOutputs };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`run-notebook: ${e && e.message ? e.message : e}`);
    process.exit(2);
  });
}
