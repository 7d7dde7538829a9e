import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtcHttpClient } from '../../lib/otc/http-client';
import { nodeTransport, type TransportRequest } from '../../lib/otc/node-transport';
import { opensslOk } from '../helpers/openssl';
import { useTempDirectory } from '../helpers/temp-directory';

/** lib/otc/node-transport.ts against servers on loopback: what OtcHttpClient relied on fetch for. */
type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

let server: Server;
let handler: Handler;
let base: URL;
const sockets = new Set<unknown>();

beforeAll(async () => {
  server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: string, headers: Record<string, string> = {}, timeoutMs = 5000): TransportRequest => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json;charset=UTF-8', ...headers },
  body,
  signal: AbortSignal.timeout(timeoutMs),
  redirect: 'manual',
});

describe('nodeTransport', () => {
  it('sends the method, the headers and the UTF-8 body with its byte length, and returns status, headers and body', async () => {
    let seen: { method?: string; contentLength?: string; contentType?: string; custom?: string; body?: string } = {};
    handler = (request, response, body) => {
      seen = { method: request.method, contentLength: request.headers['content-length'], contentType: request.headers['content-type'], custom: request.headers['x-sdk-date'] as string, body };
      response.writeHead(201, { 'X-Request-Id': 'abc', 'Set-Cookie': ['a=1', 'b=2'] });
      response.end('{"ok":"grüß"}');
    };
    const response = await nodeTransport(new URL('/v1/kms?x=1', base), post('{"name":"Zürich ✓"}', { 'X-Sdk-Date': '20261204T000000Z' }));
    expect(seen).toEqual({ method: 'POST', contentLength: String(Buffer.byteLength('{"name":"Zürich ✓"}')), contentType: 'application/json;charset=UTF-8', custom: '20261204T000000Z', body: '{"name":"Zürich ✓"}' });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('x-request-id')).toBe('abc');
    expect(response.headers.get('X-Request-ID')).toBe('abc');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toBe('{"ok":"grüß"}');
  });

  it('keeps a character whole that arrives split across two chunks', async () => {
    const bytes = Buffer.from('{"v":"€"}');
    const split = bytes.indexOf(0xe2) + 1; // inside the three bytes of €
    handler = (_request, response) => {
      response.writeHead(200, { 'Content-Length': String(bytes.length) });
      response.write(bytes.subarray(0, split));
      setTimeout(() => response.end(bytes.subarray(split)), 20);
    };
    expect(await (await nodeTransport(base, post('{}'))).text()).toBe('{"v":"€"}');
  });

  it('sends no body on a GET, answers a non-2xx as it is (ok false), and never follows a redirect', async () => {
    const requests: string[] = [];
    handler = (request, response, body) => {
      requests.push(`${request.method} ${request.url} ${JSON.stringify(body)} ${request.headers['content-length'] ?? '-'}`);
      if (request.url === '/moved') {
        response.writeHead(302, { Location: 'http://elsewhere.invalid/' });
        response.end();
      } else {
        response.writeHead(503);
        response.end('busy');
      }
    };
    const get = { method: 'GET', headers: {}, signal: AbortSignal.timeout(5000), redirect: 'manual' } as const;
    const unavailable = await nodeTransport(new URL('/x', base), get);
    expect([unavailable.status, unavailable.ok, await unavailable.text()]).toEqual([503, false, 'busy']);
    const moved = await nodeTransport(new URL('/moved', base), get);
    expect([moved.status, moved.ok, moved.headers.get('location')]).toEqual([302, false, 'http://elsewhere.invalid/']);
    expect(requests).toEqual(['GET /x "" -', 'GET /moved "" -']);
  });

  it('reuses one connection for consecutive calls (keep-alive)', async () => {
    const before = sockets.size;
    handler = (_request, response) => response.end('{}');
    for (let index = 0; index < 3; index++) await (await nodeTransport(base, post('{}'))).text();
    expect(sockets.size - before).toBeLessThanOrEqual(1);
  });

  it('rejects with the timeout of the signal when no answer comes, and when the body stops half-way', async () => {
    handler = () => undefined; // never answers
    await expect(nodeTransport(base, post('{}', {}, 150))).rejects.toMatchObject({ name: 'TimeoutError' });
    handler = (_request, response) => {
      response.writeHead(200, { 'Content-Length': '100' });
      response.write('{"partial":');
    };
    await expect(nodeTransport(base, post('{}', {}, 150))).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects with ECONNRESET when the server drops the connection in the middle of the answer', async () => {
    handler = (request, response) => {
      response.writeHead(200, { 'Content-Length': '100' });
      response.write('{"partial":', () => request.socket.destroy());
    };
    await expect(nodeTransport(base, post('{}'))).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('rejects an aborted signal at once, and a protocol other than http and https', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await expect(nodeTransport(base, { ...post('{}'), signal: controller.signal })).rejects.toThrow('stopped');
    await expect(nodeTransport(new URL('ftp://127.0.0.1/'), post('{}'))).rejects.toThrow('unsupported protocol ftp: (http: or https:)');
  });

  describe('over https', () => {
    const temp = useTempDirectory();

    it('refuses a certificate the system does not trust with its code, which OtcHttpClient does not retry', async () => {
      const key = join(temp(), 'key.pem');
      const certificate = join(temp(), 'cert.pem');
      opensslOk(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', certificate, '-subj', '/CN=127.0.0.1', '-days', '1']);
      const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(certificate) }, (_request, response) => response.end('{}'));
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const url = new URL(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/v1.0/p/kms/list-keys`);
        await expect(nodeTransport(url, post('{}'))).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
        const delays: number[] = [];
        const client = new OtcHttpClient({ maxRetries: 3, sleep: async (ms) => void delays.push(ms) });
        const error = await client.send({ service: 'kms', operation: 'list-keys', method: 'POST', url, body: {} }).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'OTC_UNREACHABLE' });
        expect((error as Error).message).toContain('KMS list-keys failed after 1 attempt: DEPTH_ZERO_SELF_SIGNED_CERT');
        expect(delays).toEqual([]);
      } finally {
        tls.closeAllConnections();
        await new Promise((resolve) => tls.close(resolve));
      }
    });
  });
});
