// Preloaded (node --require) by the fuzz scripts: when scripts/jazzer-glibc-shim.sh had to build a
// patched copy of Jazzer.js's native addon (its prebuilt needs a newer glibc/libstdc++ than this
// machine has), load that copy instead of node_modules' file. node_modules itself is never modified.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const patched = path.resolve(__dirname, '..', '.cache', 'jazzer', `fuzzer-${process.platform}-${process.arch}.node`);
const wanted = `${path.sep}@jazzer.js${path.sep}fuzzer${path.sep}prebuilds${path.sep}fuzzer-${process.platform}-${process.arch}.node`;
if (fs.existsSync(patched)) {
  const dlopen = process.dlopen;
  process.dlopen = function redirectedDlopen(module, filename, ...rest) {
    return dlopen.call(this, module, String(filename).endsWith(wanted) ? patched : filename, ...rest);
  };
}
