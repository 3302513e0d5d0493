// jest: one orb-mock for the whole run. In jest.config.js:
//   globalSetup: 'orb-mock/examples/jest.global-setup.cjs',
//   globalTeardown: 'orb-mock/examples/jest.global-teardown.cjs',
// Test workers inherit ORB_MOCK_URL, so `await startOrbMock()` in a test attaches to this one.
const { startOrbMock } = require('orb-mock');

module.exports = async function globalSetup() {
  const mock = await startOrbMock();
  process.env.ORB_MOCK_URL = mock.url;
  globalThis.__ORB_MOCK__ = mock;
};
