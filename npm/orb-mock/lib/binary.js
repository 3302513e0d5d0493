'use strict';
// Where the executable is: $ORB_MOCK_BIN, else the platform package npm installed through
// optionalDependencies (no postinstall step, no download: esbuild's and biome's layout).

const path = require('node:path');

/** The platform package's name for this machine, e.g. `@orb-mock/linux-x64`. */
function platformPackage() {
  return `@orb-mock/${process.platform}-${process.arch}`;
}

/** The path of the `orb-mock` executable. Throws, naming the package, when it is missing. */
function binaryPath() {
  if (process.env.ORB_MOCK_BIN) {
    return process.env.ORB_MOCK_BIN;
  }
  const pkg = platformPackage();
  const exe = process.platform === 'win32' ? 'orb-mock.exe' : 'orb-mock';
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe);
  } catch {
    throw new Error(
      `no orb-mock executable for ${process.platform}-${process.arch}: the optional dependency ` +
        `${pkg} is not installed (was it skipped with --no-optional/--omit=optional, or is this ` +
        `platform not built?). Set ORB_MOCK_BIN to an orb-mock executable to use that instead.`,
    );
  }
}

module.exports = { binaryPath, platformPackage };
