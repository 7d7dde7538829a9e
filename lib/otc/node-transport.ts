import type { Agent as HttpAgent, IncomingMessage } from 'node:http';

/**
 * The HTTP transport of the OTC clients: one request and its whole answer, over node:http or
 * node:https. It stands in for `fetch`, which in Node 20 loads and compiles undici at its first call
 * (about 85 ms of CPU in every process that talks to KMS or IAM: bootstrap, keys, rotate, a synth of
 * an `otc-kms` environment), while node:http and node:https are built-ins that load in a few
 * milliseconds (node:https only for an https endpoint). `fetch` itself fits the same `Transport`
 * shape (the tests pass fakes).
 */

/** What OtcHttpClient sends: the subset of fetch's RequestInit it uses. */
export interface TransportRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body, sent as UTF-8; none for a GET. */
  readonly body?: string;
  /** Ends the attempt: its reason (AbortSignal.timeout's TimeoutError) is what the call rejects with. */
  readonly signal: AbortSignal;
  /** A redirect is answered as it is, never followed. */
  readonly redirect: 'manual';
}

/** What OtcHttpClient reads of an answer: the subset of fetch's Response it uses. */
export interface TransportResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  text(): Promise<string>;
}

/** Header lookup by name, case-insensitive; null when absent (as fetch's Headers.get). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export type Transport = (url: URL, init: TransportRequest) => Promise<TransportResponse>;

/** One keep-alive agent per scheme, made at first use: a ceremony's sign calls reuse the connection (and its TLS session). */
const agents = new Map<string, HttpAgent>();

/** node:http or node:https, loaded at first use (node:https brings node:tls). */
function httpModule(protocol: 'http:' | 'https:'): Pick<typeof import('node:http'), 'Agent' | 'request'> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return protocol === 'https:' ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
}

function agentFor(protocol: 'http:' | 'https:'): HttpAgent {
  let agent = agents.get(protocol);
  if (agent === undefined) {
    // Idle sockets of a keep-alive agent are unref'd: they never keep a finished command running.
    agent = new (httpModule(protocol).Agent)({ keepAlive: true });
    agents.set(protocol, agent);
  }
  return agent;
}

/** Response headers of node:http (names lower-cased; a repeated header is an array) behind `get`. */
class IncomingHeaders implements ResponseHeaders {
  constructor(private readonly headers: IncomingMessage['headers']) {}

  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

/**
 * Sends one request with node:http(s) and resolves with the status, the headers and the whole body
 * (decoded as UTF-8 at the end, so a character split across chunks stays whole). Rejects with the
 * signal's reason when it aborts (before the answer or during its body), and with the socket's
 * error (its `code`: ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, …) when the connection fails.
 */
export const nodeTransport: Transport = (url, init) => {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new TypeError(`unsupported protocol ${url.protocol} (http: or https:)`));
  }
  const protocol = url.protocol;
  const { signal } = init;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<TransportResponse>((resolve, reject) => {
    const { request } = httpModule(protocol);
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outgoing.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    // The body goes whole into end(): node:http sends it with its Content-Length (not chunked).
    const outgoing = request(url, { method: init.method, headers: init.headers, agent: agentFor(protocol) }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A connection that closes before the whole answer is an 'error' here (ECONNRESET, "aborted").
      incoming.on('error', fail);
      incoming.on('end', () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        const status = incoming.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status, ok: status >= 200 && status < 300, headers: new IncomingHeaders(incoming.headers), text: async () => text });
      });
    });
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', fail);
    outgoing.end(init.body);
  });
};
