// Preloaded (`node -r`) into a CLI process by test/cli/launcher.test.ts: fails the process as soon as
// anything loads a TypeScript file or tsx, the run-time transform the compiled bin must not need.
'use strict';
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const resolved = (() => {
    try {
      return Module._resolveFilename(request, parent, isMain);
    } catch {
      return request;
    }
  })();
  if (/\.ts$/.test(resolved) || /[\\/]node_modules[\\/]tsx[\\/]/.test(resolved)) {
    process.stderr.write(`forbidden at run time: ${resolved}\n`);
    process.exit(99);
  }
  return load.apply(this, arguments);
};
