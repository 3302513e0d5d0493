/** The JSON line orb-mock writes on stdout once it listens. */
export interface ReadyLine {
  event: 'listening';
  /** The address bound, e.g. `127.0.0.1:43567`. */
  address: string;
  /** Where to connect, e.g. `http://127.0.0.1:43567`. */
  url: string;
  version: string;
}

/** A duration: `'500ms'`, `'2s'`, `'5m'`, or a number of milliseconds. */
export type Duration = string | number;

export interface StartOptions {
  /** Attach to this running orb-mock instead of starting one (default: `$ORB_MOCK_URL`). */
  url?: string;
  /** The executable (default: `$ORB_MOCK_BIN`, else the one from `@orb-mock/<platform>-<arch>`). */
  binary?: string;
  /** `--database-url`: `sqlite::memory:` (default), `sqlite://path.db` or `postgres://…`. */
  databaseURL?: string;
  /** `--deletion-delay` (default 2 s). */
  deletionDelay?: Duration;
  /** More flags for the executable. */
  args?: string[];
  /** Its environment (default: this process's); `RUST_LOG` defaults to `warn`. */
  env?: Record<string, string | undefined>;
  /** How long to wait for it to be ready (default 30 000 ms). */
  startupTimeoutMs?: number;
}

export interface Settings {
  deletion_delay: string;
}

export interface Deletion {
  customer_id: string;
  state: 'pending' | 'completed' | 'failed';
  due_at: string;
  attempts: number;
  last_error: string | null;
  requested_at: string;
  completed_at: string | null;
}

export interface CompletedDeletions {
  completed: number;
  data: Deletion[];
}

export interface LoadedFixtures {
  customers: string[];
  invoices: string[];
  subscriptions: string[];
}

export interface JournalEntry {
  method: string;
  path: string;
  query: string | null;
  headers: Record<string, string>;
  body: unknown;
  status: number | null;
  timestamp: string;
}

export interface NewFaultRule {
  /** An Orb path without `/v1`; `*` matches one segment. */
  path: string;
  /** Default `'*'` (any). */
  method?: string;
  /** Answer this Orb error (400, 401, 404, 409, 413, 429, 500). */
  status?: number;
  /** Pick an error type, e.g. `'413-too-many-results'`. */
  type?: string;
  headers?: Record<string, string>;
  delay?: Duration;
  /** Drop the connection without an answer. */
  close?: boolean;
  times?: number;
  after?: number;
}

export interface FaultRule extends NewFaultRule {
  id: string;
  matched: number;
  fired: number;
}

/** A fresh account: its API key and helpers for the `/_mock` routes, acting on it only. */
export interface Account {
  apiKey: string;
  /** The server's root, e.g. `http://127.0.0.1:43567`. */
  url: string;
  /** The base URL for an Orb client, e.g. `http://127.0.0.1:43567/v1`. */
  baseURL: string;
  /** Any request as this account, unchecked. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  reset(): Promise<void>;
  settings(): Promise<Settings>;
  /** `null` goes back to the server's `--deletion-delay`. */
  setDeletionDelay(delay: Duration | null): Promise<Settings>;
  deletions(): Promise<Deletion[]>;
  /** Runs the pending cascades now (or one customer's) and resolves once they committed. */
  completeDeletions(customerId?: string): Promise<CompletedDeletions>;
  loadFixtures(document: Record<string, unknown>): Promise<LoadedFixtures>;
  /** Newest first; filter by method and path prefix. */
  journal(filter?: { method?: string; path?: string }): Promise<JournalEntry[]>;
  clearJournal(): Promise<void>;
  addFault(rule: NewFaultRule): Promise<FaultRule>;
  faults(): Promise<FaultRule[]>;
  removeFault(id: string): Promise<void>;
  clearFaults(): Promise<void>;
}

export interface OrbMock {
  /** The server's root, e.g. `http://127.0.0.1:43567`. */
  url: string;
  /** The base URL for an Orb client: `url` + `/v1`. */
  baseURL: string;
  /** Whether it attached to a running orb-mock instead of starting one. */
  attached: boolean;
  /** The ready line of the orb-mock it started (`null` when attached). */
  ready: ReadyLine | null;
  /** A fresh account (a random API key), or the account of `apiKey`. */
  account(apiKey?: string): Account;
  /** Stops the orb-mock it started (SIGTERM; an attached one keeps running). */
  stop(): Promise<void>;
}

/** Starts orb-mock on a free port, or attaches to `$ORB_MOCK_URL`, and waits until healthy. */
export function startOrbMock(options?: StartOptions): Promise<OrbMock>;

/** The path of the orb-mock executable for this platform. */
export function binaryPath(): string;

/** A `/_mock` route answered with an error. */
export class OrbMockError extends Error {
  status: number;
  body: unknown;
}
