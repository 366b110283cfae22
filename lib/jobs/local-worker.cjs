// Entry of a local job worker process (lib/jobs/local-runner.ts forks it). Plain JavaScript that registers tsx, so the
// TypeScript lib loads whatever the parent is: a script under tsx, node's test runner, or a tslab kernel (which compiles
// lib itself and has no loader to lend its children).
'use strict';
require('tsx/cjs');
require('./local-worker.ts');
