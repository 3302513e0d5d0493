#!/usr/bin/env node
// Fills npm/<platform>-<arch>/ with the package.json (from npm/linux-x64's, the template) and
// the given executable in bin/. Used by tests/kits/node.sh and the release workflow.
//   node npm/platform-package.js linux-x64 target/debug/orb-mock
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const [name, executable] = process.argv.slice(2);
if (!name || !executable) {
  console.error('usage: platform-package.js <platform>-<arch> <executable>');
  process.exit(2);
}
const [os, cpu] = name.split('-');
const dir = path.join(__dirname, name);
const template = JSON.parse(fs.readFileSync(path.join(__dirname, 'linux-x64', 'package.json'), 'utf8'));
const pkg = {
  ...template,
  name: `@orb-mock/${name}`,
  description: `The orb-mock executable for ${os} ${cpu} (installed by the orb-mock package)`,
  os: [os],
  cpu: [cpu],
};
fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
const target = path.join(dir, 'bin', path.basename(executable));
fs.copyFileSync(executable, target);
fs.chmodSync(target, 0o755);
console.log(`${pkg.name}: ${target}`);
