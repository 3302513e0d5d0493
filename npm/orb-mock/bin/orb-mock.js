#!/usr/bin/env node
// The `orb-mock` command: runs the executable from this platform's package
// (@orb-mock/<platform>-<arch>), passing the arguments, stdio and exit status through.
'use strict';

const { spawnSync } = require('node:child_process');
const { binaryPath } = require('../lib/binary.js');

let binary;
try {
  binary = binaryPath();
} catch (err) {
  console.error(`orb-mock: ${err.message}`);
  process.exit(1);
}
const result = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
if (result.error) {
  console.error(`orb-mock: cannot run ${binary}: ${result.error.message}`);
  process.exit(1);
}
if (result.signal) {
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 1);
