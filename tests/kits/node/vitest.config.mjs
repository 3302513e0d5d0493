// The vitest config of tests/kits/node.sh's scratch project: the globalSetup example that the
// orb-mock package ships, used as its comment says, so that the example is what starts the
// orb-mock every test file attaches to.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { globalSetup: ['node_modules/orb-mock/examples/vitest.global-setup.mjs'] },
});
