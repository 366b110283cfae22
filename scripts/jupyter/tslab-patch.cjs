// Preloaded into every gradreg tslab kernel (`node -r tslab-patch.cjs tslab kernel ...`, see kernelspec.ts).
// Fixes two things in tslab 1.0.22's module loader (dist/executor.js, its last release) by rewriting its source as it loads:
//  1. Reload: when a lib file changes tslab recompiles only that file and drops only its cached module, so modules that import
//     it (lib/index.ts ...) keep the old code. Patched: recompiling an already loaded file drops every cached lib module, so
//     re-running the import cell reloads lib as a whole (module state such as the chosen backend starts afresh: re-run setup).
//  2. `import "./dir"` resolves only to dir.js, never dir/index.js ("Cannot find module"). Patched: fall back to dir/index.js.
//     Notebooks and lib still write './x/index' so they also run in a plain tslab kernel (test/runner/tslab-imports.test.ts).
// If tslab's source no longer matches, nothing is patched and the kernel says so on stderr.
'use strict';
const Module = require('node:module');

const PATCHES = [
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
];

const origCompile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (/[\\/]tslab[\\/]dist[\\/]executor\.js$/.test(filename)) {
    Module.prototype._compile = origCompile;
    let src = content;
    const missing = [];
    for (const p of PATCHES) {
      if (src.includes(p.from)) src = src.replace(p.from, p.to);
      else missing.push(p.what);
    }
    if (missing.length === 0) {
      content = src;
      globalThis.__gradregTslabPatched = true;
    } else {
      process.stderr.write(`gradreg: tslab's executor.js changed, not patched (${missing.join('; ')}): ` +
        're-running an import cell may not reload edited lib files; restart the kernel after editing lib/.\n');
    }
  }
  return origCompile.call(this, content, filename);
};
