// vitest: one orb-mock for the whole run. In vitest.config.ts:
//   export default defineConfig({ test: { globalSetup: ['node_modules/orb-mock/examples/vitest.global-setup.mjs'] } })
// Tests then attach to it (ORB_MOCK_URL) and take a fresh account each:
//   const mock = await startOrbMock();   // attaches, does not start another
//   const account = mock.account();
//   const client = new Orb({ apiKey: account.apiKey, baseURL: account.baseURL });
import { startOrbMock } from 'orb-mock';

export default async function setup({ provide }) {
  const mock = await startOrbMock();
  process.env.ORB_MOCK_URL = mock.url;
  provide?.('orbMockURL', mock.url);
  return async () => {
    await mock.stop();
  };
}
