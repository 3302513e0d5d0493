'use strict';
// startOrbMock(): an orb-mock for tests, started on a free port (the executable from this
// platform's package, `--listen 127.0.0.1:0`, its port read from the JSON ready line it writes
// on stdout) or attached to one already running ($ORB_MOCK_URL). account() hands out a fresh
// API key with helpers for the /_mock control routes, each acting on that account only.

const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const readline = require('node:readline');
const { binaryPath } = require('./binary.js');

/** A /_mock route answered with an error; `body` is Orb's error body. */
class OrbMockError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} answered ${status}: ${JSON.stringify(body)}`);
    this.name = 'OrbMockError';
    this.status = status;
    this.body = body;
  }
}

function duration(value) {
  return typeof value === 'number' ? `${Math.round(value)}ms` : value;
}

function makeAccount(url, apiKey) {
  const key = apiKey ?? `sk_test_orbmock_${randomBytes(12).toString('hex')}`;

  async function request(method, path, body) {
    const init = { method, headers: { Authorization: `Bearer ${key}` } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(`${url}${path}`, init);
  }

  async function call(method, path, body) {
    const response = await request(method, path, body);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      throw new OrbMockError(method, path, response.status, parsed);
    }
    return parsed;
  }

  return {
    apiKey: key,
    url,
    baseURL: `${url}/v1`,
    request,
    reset: async () => {
      await call('POST', '/_mock/reset');
    },
    settings: () => call('GET', '/_mock/settings'),
    setDeletionDelay: (delay) =>
      call('PATCH', '/_mock/settings', { deletion_delay: delay == null ? null : duration(delay) }),
    deletions: async () => (await call('GET', '/_mock/deletions')).data,
    completeDeletions: (customerId) =>
      call('POST', '/_mock/deletions/complete', customerId ? { customer_id: customerId } : {}),
    loadFixtures: (document) => call('POST', '/_mock/fixtures', document),
    journal: async (filter = {}) => {
      const query = new URLSearchParams();
      if (filter.method) query.set('method', filter.method);
      if (filter.path) query.set('path', filter.path);
      const suffix = query.toString() ? `?${query}` : '';
      return (await call('GET', `/_mock/requests${suffix}`)).data;
    },
    clearJournal: async () => {
      await call('DELETE', '/_mock/requests');
    },
    addFault: (rule) =>
      call('POST', '/_mock/faults', rule.delay === undefined ? rule : { ...rule, delay: duration(rule.delay) }),
    faults: async () => (await call('GET', '/_mock/faults')).data,
    removeFault: async (id) => {
      await call('DELETE', `/_mock/faults/${encodeURIComponent(id)}`);
    },
    clearFaults: async () => {
      await call('DELETE', '/_mock/faults');
    },
  };
}

async function waitHealthy(url, child, deadline) {
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`orb-mock exited with ${child.exitCode}`);
    }
    try {
      const response = await fetch(`${url}/_mock/health`);
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${url}/_mock/health did not answer 200 in time (last: ${last})`);
}

function readyLine(child, timeoutMs, logTail) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const fail = (message) => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`${message}${logTail()}`));
    };
    const timer = setTimeout(() => fail(`orb-mock wrote no ready line within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(`cannot run orb-mock: ${err.message}`));
    child.once('exit', (code) => fail(`orb-mock exited with ${code} during start-up`));
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.close();
      try {
        const ready = JSON.parse(line);
        if (ready.event !== 'listening') throw new Error('not a listening event');
        resolve(ready);
      } catch (err) {
        reject(new Error(`unexpected ready line ${JSON.stringify(line)}: ${err.message}`));
      }
    });
  });
}

async function startOrbMock(options = {}) {
  const timeoutMs = options.startupTimeoutMs ?? 30000;
  const attachTo = options.url ?? process.env.ORB_MOCK_URL;
  if (attachTo) {
    const url = attachTo.replace(/\/+$/, '');
    await waitHealthy(url, null, Date.now() + timeoutMs);
    return {
      url,
      baseURL: `${url}/v1`,
      attached: true,
      ready: null,
      account: (apiKey) => makeAccount(url, apiKey),
      stop: async () => {},
    };
  }

  const args = ['--listen', '127.0.0.1:0'];
  if (options.databaseURL) args.push('--database-url', options.databaseURL);
  if (options.deletionDelay !== undefined) args.push('--deletion-delay', duration(options.deletionDelay));
  args.push(...(options.args ?? []));
  const env = { RUST_LOG: 'warn', ...(options.env ?? process.env) };
  delete env.ORB_MOCK_LISTEN;
  const child = spawn(options.binary ?? binaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  // Keep the last few KB of its log for error messages, and keep draining it so that it never
  // blocks on a full pipe.
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log = (log + chunk).slice(-4000);
  });
  const logTail = () => (log.trim() ? `; its log:\n${log.trim()}` : '');
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const ready = await readyLine(child, timeoutMs, logTail);
    await waitHealthy(ready.url, child, Date.now() + timeoutMs);
    return {
      url: ready.url,
      baseURL: `${ready.url}/v1`,
      attached: false,
      ready,
      account: (apiKey) => makeAccount(ready.url, apiKey),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

module.exports = { startOrbMock, OrbMockError, binaryPath };
