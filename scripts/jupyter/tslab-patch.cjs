// Preloaded into every gradreg tslab kernel (`node -r tslab-patch.cjs tslab kernel ...`, see kernelspec.ts).
// Fixes three things in tslab 1.0.22 (its last release) as its files load:
//  1. Reload (dist/executor.js): when a lib file changes tslab recompiles only that file and drops only its cached module, so
//     modules that import it (lib/index.ts ...) keep the old code. Patched: recompiling an already loaded file drops every
//     cached lib module, so re-running the import cell reloads lib as a whole (module state such as the chosen backend
//     starts afresh: re-run setup).
//  2. `import "./dir"` resolves only to dir.js, never dir/index.js ("Cannot find module"). Patched: fall back to dir/index.js.
//     Notebooks and lib still write './x/index' so they also run in a plain tslab kernel (test/runner/tslab-imports.test.ts).
//  3. Errors: a failing cell's error is printed to stderr and the execute_reply carries no ename/evalue, so Jupyter frontends
//     show pink stderr text and do not mark the cell as failed. Patched: the executor keeps the error (or the compile
//     diagnostics) instead of printing it, and the kernel (dist/jupyter.js) sends a proper `error` output and an
//     execute_reply with ename, evalue and a short traceback that starts at the notebook cell; aborted cells (after an
//     error, Run All) get the protocol's status "aborted" instead of tslab's "abort".
// If tslab's source no longer matches, nothing is patched and the kernel says so on stderr.
'use strict';
const Module = require('node:module');
const path = require('node:path');

const EXECUTOR_PATCHES = [
  {
    what: 'reload importers of a changed file',
    from: 'for (const out of outs) {\n            if (sideModules.has(out.path)) {\n                sideModules.delete(out.path);\n            }',
    // Only a recompiled module that was already loaded (an edit) clears; a first-time import keeps the loaded ones.
    to: 'if (outs.some((o) => sideModules.has(o.path))) {\n            sideModules.clear();\n        }\n        for (const out of outs) {\n            {}',
  },
  {
    what: 'directory imports resolve to index.js',
    from: 'if (!sideOutputs.has(filename)) {\n            return null;\n        }',
    to: 'if (!sideOutputs.has(filename) && sideOutputs.has((0, tspath_1.normalizeJoin)(dirname, id, "index.js"))) {\n' +
      '            filename = (0, tspath_1.normalizeJoin)(dirname, id, "index.js");\n' +
      '            const cachedIndex = sideModules.get(filename);\n' +
      '            if (cachedIndex) {\n                return cachedIndex.exports;\n            }\n' +
      '        }\n        if (!sideOutputs.has(filename)) {\n            return null;\n        }',
  },
  {
    what: 'keep compile errors for the error reply',
    from: 'printDiagnostics(converted.diagnostics);\n            return false;',
    to: 'globalThis.__gradregCellError = { diagnostics: converted.diagnostics };\n            return false;',
  },
  {
    what: 'keep run-time errors for the error reply (synchronous and awaited)',
    from: /console\.error\(e\);\n(\s+)return false;/g,
    count: 2,
    to: 'globalThis.__gradregCellError = { error: e };\n$1return false;',
  },
];

function applyPatches(content, patches) {
  let src = content;
  const missing = [];
  for (const p of patches) {
    const n = typeof p.from === 'string' ? (src.includes(p.from) ? 1 : 0) : (src.match(p.from) || []).length;
    if (n === (p.count ?? 1)) src = src.replace(p.from, p.to);
    else missing.push(p.what);
  }
  return { src, missing };
}

// --- the error reply ----------------------------------------------------------------------------------------------
const RED = '\u001b[0;31m';
const RESET = '\u001b[0m';
// Frames of tslab, node:vm and node's internals say nothing about the notebook.
const INTERNAL_FRAME = /node:vm|node:internal|[\\/]tslab[\\/]dist[\\/]|[\\/]tslab-patch\.cjs|sigintHandlersWrap|runInThisContext|^\s*at new Promise \(<anonymous>\)$|^\s*at <anonymous>$/;
// The cell itself runs as "evalmachine.<anonymous>" (vm.runInThisContext without a file name).
const CELL_FRAME = /evalmachine\.<anonymous>/;

/** A stack frame line made readable: the cell is "<cell>", a lib file compiled by tslab is named by its .ts source. */
function frameLine(line) {
  // The cell's line numbers are those of tslab's compiled JavaScript (with earlier cells' declarations): useless, so dropped.
  let l = line.replace(/evalmachine\.<anonymous>(?::\d+:\d+)?/, '<cell>');
  // tslab loads notebooks/lib/x.ts compiled in memory as notebooks/lib/x.js: name the file the user edits.
  l = l.replace(/(\(|at )((?:[A-Za-z]:)?[\\/][^():]*?)\.js:(\d+):(\d+)/, (m, pre, file, ln, col) => {
    const ts = `${file}.ts`;
    try {
      if (require('node:fs').existsSync(ts)) return `${pre}${path.relative(process.cwd(), ts)} (compiled line ${ln}:${col})`;
    } catch { /* keep as is */ }
    return m;
  });
  return l;
}

/** ename, evalue and a short traceback (the message, then the frames down to the notebook cell) for a failed cell. */
function errorContent(record) {
  if (record && record.diagnostics) {
    const lines = record.diagnostics.map((d) => `${d.fileName ? d.fileName + ' ' : 'cell '}${d.start.line + 1}:${d.start.character + 1} - ${d.messageText}`);
    return { ename: 'TypeScript error', evalue: lines.join('\n'), traceback: [`${RED}TypeScript error${RESET}`, ...lines] };
  }
  if (!record || !('error' in record)) {
    return { ename: 'Error', evalue: 'the cell failed (see its output above)', traceback: [`${RED}Error${RESET}: the cell failed (see its output above)`] };
  }
  const e = record.error;
  const isErr = e instanceof Error || (e && typeof e === 'object' && typeof e.message === 'string' && typeof e.stack === 'string');
  if (!isErr) {
    const v = typeof e === 'string' ? e : require('node:util').inspect(e, { depth: 3 });
    return { ename: 'Uncaught', evalue: v, traceback: [`${RED}Uncaught${RESET} ${v}`] };
  }
  const ename = String(e.name || (e.constructor && e.constructor.name) || 'Error');
  const evalue = String(e.message);
  const stack = String(e.stack || '');
  // The stack repeats the message (possibly over several lines) before its first "    at" frame.
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  const kept = [];
  for (const f of frames) {
    if (INTERNAL_FRAME.test(f)) continue;
    kept.push(frameLine(f));
    if (CELL_FRAME.test(f)) break; // below the cell: only tslab's machinery
  }
  const traceback = [`${RED}${ename}${RESET}: ${evalue}`, ...kept];
  let cause = e.cause;
  for (let depth = 0; cause && depth < 3; depth++, cause = cause.cause) {
    traceback.push(`caused by: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
  }
  return { ename, evalue, traceback };
}

/** ZmqServer.handleExecute as in tslab, plus the error output and the error fields of the reply. */
function patchKernel(exports) {
  const Server = exports && exports.ZmqServer;
  if (!Server || typeof Server.prototype.handleExecute !== 'function') return false;
  Server.prototype.handleExecute = async function handleExecute(sock, msg) {
    const send = (type, content, socket) => {
      const m = msg.createReply();
      m.header.msg_type = type;
      m.content = content;
      m.signAndSend(this.connInfo.key, socket);
    };
    const writeStream = (name, text) => send('stream', { name, text }, this.iopub);
    const writeDisplayData = (data, update) => send(update ? 'update_display_data' : 'display_data', data, this.iopub);
    globalThis.__gradregCellError = undefined;
    const content = await this.handler.handleExecute(msg.content, writeStream, writeDisplayData);
    if (content.status === 'error') {
      let err;
      try {
        err = errorContent(globalThis.__gradregCellError);
      } catch (e) {
        err = { ename: 'Error', evalue: `the cell failed; its error could not be described (${e && e.message})`, traceback: [] };
      }
      globalThis.__gradregCellError = undefined;
      // zeromq.js throws "Socket is busy writing" after a flood of outputs: the reply below must go out anyway, with the error.
      try {
        send('error', err, this.iopub);
      } catch { /* the iopub output is lost; the execute_reply still carries ename/evalue/traceback */ }
      Object.assign(content, err);
    } else if (content.status === 'abort') {
      content.status = 'aborted';
    }
    send('execute_reply', content, sock);
  };
  return true;
}

const origCompile = Module.prototype._compile;
const pending = new Set(['executor', 'jupyter']);
Module.prototype._compile = function (content, filename) {
  const m = /[\\/]tslab[\\/]dist[\\/](executor|jupyter)\.js$/.exec(filename);
  if (!m || !pending.has(m[1])) return origCompile.call(this, content, filename);
  pending.delete(m[1]);
  if (pending.size === 0) Module.prototype._compile = origCompile;
  if (m[1] === 'executor') {
    const { src, missing } = applyPatches(content, EXECUTOR_PATCHES);
    if (missing.length === 0) {
      globalThis.__gradregTslabPatched = true;
      return origCompile.call(this, src, filename);
    }
    process.stderr.write(`gradreg: tslab's executor.js changed, not patched (${missing.join('; ')}): re-running an import cell may ` +
      'not reload edited lib files (restart the kernel after editing lib/), and errors show as stderr text.\n');
    return origCompile.call(this, content, filename);
  }
  const ret = origCompile.call(this, content, filename);
  if (!patchKernel(this.exports)) process.stderr.write("gradreg: tslab's jupyter.js changed (no ZmqServer.handleExecute): errors show as stderr text.\n");
  return ret;
};

module.exports = { errorContent };
