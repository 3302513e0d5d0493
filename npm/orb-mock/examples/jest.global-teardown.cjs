// jest: stops the orb-mock that jest.global-setup.cjs started.
module.exports = async function globalTeardown() {
  await globalThis.__ORB_MOCK__?.stop();
};
