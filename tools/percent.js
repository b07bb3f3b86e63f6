#!/usr/bin/env node
// Developer convenience: convert between a notebook (.ipynb) and a "percent" script, the
// jupytext-style plain-text form that is easier to write and diff by hand.
//   node tools/percent.js to-ipynb notebooks/04_cutmix.ts notebooks/04_cutmix.ipynb
//   node tools/percent.js to-script notebooks/04_cutmix.ipynb /tmp/04_cutmix.ts
// Percent format: a line `// %% [markdown]` starts a Markdown cell (its lines are prefixed with
// `// `, stripped on conversion); a line `// %%` starts a code cell. Outputs are not kept: run
// `npm run nb -- run --write <notebook>` afterwards to fill them in. The notebook stays the
// source of truth; do not commit percent scripts.
'use strict';
const fs = require('fs');

const KERNEL = {
  kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
  language_info: { codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript', version: '5.0.4' },
};

function splitLines(text) {
  const lines = text.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? l + '\n' : l)).filter((l) => l !== '');
}

function scriptToNotebook(text) {
  const cells = [];
  let cur = null;
  const flush = () => {
    if (!cur) return;
    while (cur.lines.length && cur.lines[cur.lines.length - 1].trim() === '') cur.lines.pop();
    while (cur.lines.length && cur.lines[0].trim() === '') cur.lines.shift();
    const src = cur.lines.join('\n');
    if (cur.type === 'markdown') cells.push({ cell_type: 'markdown', metadata: {}, source: splitLines(src) });
    else cells.push({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: splitLines(src) });
    cur = null;
  };
  for (const line of text.split('\n')) {
    const m = /^\/\/ %%(?:\s*\[(markdown|md)\])?\s*$/.exec(line);
    if (m) { flush(); cur = { type: m[1] ? 'markdown' : 'code', lines: [] }; continue; }
    if (!cur) { if (line.trim() === '') continue; cur = { type: 'code', lines: [] }; }
    if (cur.type === 'markdown') cur.lines.push(line.replace(/^\/\/ ?/, ''));
    else cur.lines.push(line);
  }
  flush();
  return { cells, metadata: KERNEL, nbformat: 4, nbformat_minor: 4 };
}

function notebookToScript(nb) {
  return nb.cells.map((c) => {
    const src = Array.isArray(c.source) ? c.source.join('') : c.source;
    if (c.cell_type === 'markdown') return '// %% [markdown]\n' + src.split('\n').map((l) => ('// ' + l).trimEnd()).join('\n');
    return '// %%\n' + src;
  }).join('\n\n') + '\n';
}

function main(argv) {
  const [cmd, from, to] = argv;
  if (cmd === 'to-ipynb' && from && to) {
    const nb = scriptToNotebook(fs.readFileSync(from, 'utf8'));
    fs.writeFileSync(to, JSON.stringify(nb, null, 1) + '\n');
  } else if (cmd === 'to-script' && from && to) {
    fs.writeFileSync(to, notebookToScript(JSON.parse(fs.readFileSync(from, 'utf8'))));
  } else {
    console.error('usage: node tools/percent.js to-ipynb <script.ts> <notebook.ipynb> | to-script <notebook.ipynb> <script.ts>');
    process.exit(2);
  }
}

module.exports = { scriptToNotebook, notebookToScript, KERNEL };
if (require.main === module) main(process.argv.slice(2));
