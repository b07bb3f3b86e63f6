// Reading and validating batchmix notebooks: JSON, cells, and the `//|` directives.
// Shared by the exporter (tools/export.js) and the in-process runner (tools/run-notebook.js).
'use strict';
const fs = require('fs');
const path = require('path');

/** An error in a notebook; the message names the file and, when known, the cell. */
class NotebookError extends Error {
  constructor(file, cell, message) {
    super(`${file}${cell === undefined ? '' : ` cell ${cell}`}: ${message}`);
    this.name = 'NotebookError';
  }
}

const KNOWN = ['default_exp', 'export', 'hide', 'eval'];

/** Joins a cell's source (a string or a list of lines) into one string. */
function sourceOf(cell) {
  return Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
}

/**
 * Parses the directive lines at the top of a code cell's source. Returns
 * `{directives: {default_exp?, export?, hide?, evalFalse?}, body}` where body is the source without
 * the directive lines. Unknown directives throw.
 */
function parseDirectives(src, file, index) {
  const lines = src.split('\n');
  const directives = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '' && Object.keys(directives).length === 0) continue;
    const m = /^\s*\/\/\|\s*(.*?)\s*$/.exec(line);
    if (!m) break;
    const text = m[1];
    const dm = /^([a-z_]+)\s*(?::\s*(.*)|\s+(.*))?$/.exec(text);
    if (!dm || !KNOWN.includes(dm[1])) {
      throw new NotebookError(file, index, `unknown directive '//| ${text}' (known: default_exp <module>, export, hide, eval: false)`);
    }
    const name = dm[1];
    const arg = (dm[2] ?? dm[3] ?? '').trim();
    if (name === 'default_exp') {
      if (!arg) throw new NotebookError(file, index, "'//| default_exp' needs a module name");
      directives.default_exp = arg;
    } else if (name === 'eval') {
      if (arg !== 'false' && arg !== 'true') throw new NotebookError(file, index, `'//| eval' takes true or false, got '${arg}'`);
      directives.evalFalse = arg === 'false';
    } else {
      if (arg) throw new NotebookError(file, index, `'//| ${name}' takes no argument, got '${arg}'`);
      directives[name] = true;
    }
  }
  return { directives, body: lines.slice(i).join('\n') };
}

/**
 * Reads and validates a notebook. Returns `{file, json, cells: [{index, type, source, body,
 * directives, outputs}], module, title, summary}`. Throws NotebookError for bad JSON, no cells,
 * unknown directives, two default_exp, or exported cells without default_exp.
 * @param file path relative to the project root (used in messages and headers).
 */
function readNotebook(file, root = process.cwd()) {
  let text;
  try { text = fs.readFileSync(path.join(root, file), 'utf8'); } catch (e) {
    throw new NotebookError(file, undefined, `cannot read: ${e.message}`);
  }
  let json;
  try { json = JSON.parse(text); } catch (e) {
    throw new NotebookError(file, undefined, `is not valid JSON (${e.message})`);
  }
  if (!json || typeof json !== 'object' || !Array.isArray(json.cells)) {
    throw new NotebookError(file, undefined, 'has no "cells" list: not a Jupyter notebook');
  }
  if (json.cells.length === 0) throw new NotebookError(file, undefined, 'has no cells');
  let module;
  const cells = json.cells.map((c, index) => {
    if (!c || (c.cell_type !== 'code' && c.cell_type !== 'markdown' && c.cell_type !== 'raw')) {
      throw new NotebookError(file, index, `has an unknown cell_type ${JSON.stringify(c && c.cell_type)}`);
    }
    if (c.source === undefined || (typeof c.source !== 'string' && !Array.isArray(c.source))) {
      throw new NotebookError(file, index, 'has no source');
    }
    const source = sourceOf(c);
    if (c.cell_type !== 'code') return { index, type: c.cell_type, source, body: source, directives: {}, outputs: [] };
    const { directives, body } = parseDirectives(source, file, index);
    if (directives.default_exp) {
      if (module) throw new NotebookError(file, index, `a second '//| default_exp' (${directives.default_exp}); the first named '${module}'`);
      module = directives.default_exp;
    }
    return { index, type: 'code', source, body, directives, outputs: c.outputs || [] };
  });
  const exported = cells.filter((c) => c.directives.export);
  if (exported.length && !module) {
    throw new NotebookError(file, exported[0].index, "is marked '//| export' but the notebook has no '//| default_exp <module>'");
  }
  const { title, summary } = titleAndSummary(cells);
  return { file, json, cells, module, title, summary };
}

/** The notebook's title (first `# ` heading) and one-line summary (first `> ` quote or paragraph). */
function titleAndSummary(cells) {
  const md = cells.find((c) => c.type === 'markdown');
  if (!md) return { title: '', summary: '' };
  const lines = md.source.split('\n');
  const h = lines.find((l) => /^#\s/.test(l));
  const title = h ? h.replace(/^#\s+/, '').trim() : '';
  const quote = lines.filter((l) => /^>\s?/.test(l)).map((l) => l.replace(/^>\s?/, '').trim()).join(' ').trim();
  const para = lines.filter((l) => l.trim() && !/^#/.test(l)).slice(0, 2).join(' ').trim();
  return { title, summary: quote || para };
}

/** Notebooks of the project, relative paths, sorted. */
function listNotebooks(root = process.cwd()) {
  const dir = path.join(root, 'notebooks');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => `notebooks/${f}`);
}

module.exports = { NotebookError, readNotebook, parseDirectives, listNotebooks, sourceOf };
