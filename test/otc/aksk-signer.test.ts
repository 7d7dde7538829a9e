import { createHash } from 'node:crypto';
import {
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  formatSdkDate,
  signRequest,
  stringToSign,
} from '../../lib/otc/aksk-signer';
import { verifyAkSk } from './emulator/aksk-verifier';
import { FAKE, PROJECT_ID, startEmulator } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

/*
 * The published example of the Huawei Cloud "API Request Signing Guide" (devg-apisign,
 * api-sign-algorithm-002 … -005): GET /v1/77b6…44fd/vpcs?limit=2&marker=13551d6b-…, headers
 * Content-Type, Host, X-Sdk-Date 20191115T033655Z, AK QTWAOYTTINDUT2QVKYUC,
 * SK MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc. The guide gives the hash of the canonical request,
 * the signature and the Authorization header.
 */
const GUIDE = {
  url: new URL('https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0'),
  headers: { 'Content-Type': 'application/json', Host: 'service.region.example.com', 'X-Sdk-Date': '20191115T033655Z' },
  accessKey: 'QTWAOYTTINDUT2QVKYUC',
  secretKey: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
  canonicalHash: 'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a',
  signature: '7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
};

describe('SDK-HMAC-SHA256 signing', () => {
  it('reproduces the signing guide example: canonical request, string to sign, signature, Authorization', () => {
    const request = { method: 'GET', url: GUIDE.url, headers: GUIDE.headers, body: '' };
    const canonical = canonicalRequest(request);
    expect(canonical.split('\n').slice(0, 3)).toEqual([
      'GET',
      '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/',
      'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
    ]);
    expect(createHash('sha256').update(canonical).digest('hex')).toBe(GUIDE.canonicalHash);
    expect(stringToSign(canonical, '20191115T033655Z')).toBe(`SDK-HMAC-SHA256\n20191115T033655Z\n${GUIDE.canonicalHash}`);
    const headers = signRequest(request, { accessKey: GUIDE.accessKey, secretKey: GUIDE.secretKey }, new Date('2030-01-01T00:00:00Z'));
    expect(headers.Authorization).toBe(
      `SDK-HMAC-SHA256 Access=${GUIDE.accessKey}, SignedHeaders=content-type;host;x-sdk-date, Signature=${GUIDE.signature}`,
    );
    // The given X-Sdk-Date and Host are kept, not replaced by the clock's.
    expect(headers['X-Sdk-Date']).toBe('20191115T033655Z');
  });

  it('the emulator gateway accepts the guide\'s published Authorization header (its verifier is checked by the vector too)', () => {
    const headers = {
      'content-type': 'application/json',
      host: 'service.region.example.com',
      'x-sdk-date': '20191115T033655Z',
      authorization: `SDK-HMAC-SHA256 Access=${GUIDE.accessKey}, SignedHeaders=content-type;host;x-sdk-date, Signature=${GUIDE.signature}`,
    };
    const received = { method: 'GET', rawUrl: `${GUIDE.url.pathname}${GUIDE.url.search}`, headers, body: Buffer.alloc(0) };
    const secretFor = () => GUIDE.secretKey;
    expect(verifyAkSk(received, secretFor, new Date('2019-11-15T03:40:00Z'))).toMatchObject({ ok: true });
    expect(verifyAkSk({ ...received, rawUrl: received.rawUrl.replace('limit=2', 'limit=3') }, secretFor, new Date('2019-11-15T03:40:00Z')).ok).toBe(false);
  });

  it('formats X-Sdk-Date as YYYYMMDDTHHMMSSZ in UTC', () => {
    expect(formatSdkDate(new Date('2019-11-15T03:36:55.123Z'))).toBe('20191115T033655Z');
  });

  it('encodes each path segment (RFC 3986) and always ends the canonical URI with "/"', () => {
    expect(canonicalUri(new URL('https://h/v1.0/p/kms/sign'))).toBe('/v1.0/p/kms/sign/');
    expect(canonicalUri(new URL('https://h/a b/c%2Fd/ü/x~y!'))).toBe('/a%20b/c%2Fd/%C3%BC/x~y%21/');
    expect(canonicalUri(new URL('https://h/'))).toBe('/');
  });

  it('sorts query parameters by name, then value, and encodes them', () => {
    expect(canonicalQueryString(new URL('https://h/p?b=2&a=3&a=1&c=x y'))).toBe('a=1&a=3&b=2&c=x%20y');
    expect(canonicalQueryString(new URL('https://h/p'))).toBe('');
  });

  it('is accepted by the emulator gateway, which verifies independently, and a changed byte is not', () => {
    const url = new URL(`http://127.0.0.1:8080/v1.0/${PROJECT_ID}/kms/sign`);
    const body = JSON.stringify({ key_id: 'x', message: 'AAAA' });
    const now = new Date('2026-01-01T12:00:00Z');
    const headers = signRequest(
      { method: 'POST', url, headers: { 'Content-Type': 'application/json', 'X-Project-Id': PROJECT_ID }, body },
      { accessKey: FAKE.accessKey, secretKey: FAKE.secretKey },
      now,
    );
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const received = { method: 'POST', rawUrl: url.pathname, headers: lower, body: Buffer.from(body) };
    const secretFor = (accessKey: string) => (accessKey === FAKE.accessKey ? FAKE.secretKey : undefined);

    expect(verifyAkSk(received, secretFor, now)).toMatchObject({ ok: true, signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'] });
    expect(verifyAkSk({ ...received, body: Buffer.from(body.replace('AAAA', 'AAAB')) }, secretFor, now).ok).toBe(false);
    expect(verifyAkSk({ ...received, headers: { ...lower, 'x-project-id': '0'.repeat(32) } }, secretFor, now).ok).toBe(false);
    expect(verifyAkSk({ ...received, rawUrl: url.pathname.replace('sign', 'verify') }, secretFor, now).ok).toBe(false);
    expect(verifyAkSk(received, () => 'another secret', now)).toMatchObject({ ok: false, reason: 'verify aksk signature fail' });
    // A signature older than the 15-minute window is refused.
    expect(verifyAkSk(received, secretFor, new Date(now.getTime() + 16 * 60_000))).toMatchObject({ ok: false, reason: 'x-sdk-date expired' });
  });
});

describe('the emulator gateway over HTTP', () => {
  let emulator: KmsEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.stop());

  async function send(mutate: (headers: Record<string, string>, body: string) => { headers: Record<string, string>; body: string }) {
    const url = new URL(`/v1.0/${PROJECT_ID}/kms/list-keys`, emulator.kmsEndpoint);
    const body = JSON.stringify({ limit: '10' });
    const signed = signRequest(
      { method: 'POST', url, headers: { 'Content-Type': 'application/json', 'X-Project-Id': PROJECT_ID }, body },
      { accessKey: FAKE.accessKey, secretKey: FAKE.secretKey },
      new Date(),
    );
    const request = mutate(signed, body);
    const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body });
    return { status: response.status, body: await response.json() };
  }

  it('serves a correctly signed request', async () => {
    expect(await send((headers, body) => ({ headers, body }))).toMatchObject({ status: 200, body: { truncated: 'false', total: 0 } });
  });

  it('refuses a request whose signed header or body was changed after signing', async () => {
    const tamperedHeader = await send((headers, body) => ({ headers: { ...headers, 'Content-Type': 'application/json;charset=utf-8' }, body }));
    expect(tamperedHeader).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    const tamperedBody = await send((headers, body) => ({ headers, body: body.replace('10', '11') }));
    expect(tamperedBody).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301', error_msg: expect.stringContaining('verify aksk signature fail') } });
    const stale = await send((headers, body) => ({ headers: { ...headers, 'X-Sdk-Date': '20200101T000000Z' }, body }));
    expect(stale).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
  });
});
