// Entry of a data-parallel shard worker thread (lib/train/data-parallel.ts starts it). Plain JavaScript that registers tsx, so
// the TypeScript lib loads whatever the parent is: a script under tsx, node's test runner, or a tslab kernel (which compiles
// lib itself and has no loader to lend its threads).
'use strict';
require('tsx/cjs');
require('./shard-worker.ts');
