import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/*
 * The API gateway's side of SDK-HMAC-SHA256, written from the signing guide and independently of the
 * product's signer (lib/otc/aksk-signer.ts): it works from the request as it arrived on the wire
 * (raw path and query, the headers Node received, the body bytes).
 */

export interface AkSkCheck {
  readonly ok: boolean;
  /** Why not, as the gateway would say it. */
  readonly reason?: string;
  readonly accessKey?: string;
  readonly signedHeaders?: readonly string[];
}

export interface ReceivedRequest {
  readonly method: string;
  /** `req.url`: raw path and query. */
  readonly rawUrl: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const AUTHORIZATION = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
/** The gateway refuses requests whose X-Sdk-Date is this far from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export function verifyAkSk(request: ReceivedRequest, secretKeyFor: (accessKey: string) => string | undefined, now: Date): AkSkCheck {
  const authorization = header(request.headers, 'authorization');
  const match = authorization ? AUTHORIZATION.exec(authorization) : null;
  if (!match) return { ok: false, reason: 'Authorization header is not "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…"' };
  const [, accessKey, signedHeaderList, signature] = match;
  const secretKey = secretKeyFor(accessKey);
  if (!secretKey) return { ok: false, reason: 'ak is invalid', accessKey };
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-sdk-date')) {
    return { ok: false, reason: 'SignedHeaders must include host and x-sdk-date', accessKey };
  }
  const sorted = [...signedHeaders].sort();
  if (sorted.join(';') !== signedHeaderList) return { ok: false, reason: 'SignedHeaders are not sorted', accessKey };
  for (const name of signedHeaders) {
    if (header(request.headers, name) === undefined) return { ok: false, reason: `signed header ${name} is missing`, accessKey };
  }
  const sdkDate = header(request.headers, 'x-sdk-date')!;
  const signedAt = parseSdkDate(sdkDate);
  if (!signedAt) return { ok: false, reason: `x-sdk-date ${sdkDate} is not YYYYMMDDTHHMMSSZ`, accessKey };
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'x-sdk-date expired', accessKey };

  const [path, query = ''] = request.rawUrl.split('?', 2);
  const canonical = [
    request.method,
    canonicalPath(path),
    canonicalQuery(query),
    signedHeaders.map((name) => `${name}:${header(request.headers, name)!.trim()}\n`).join(''),
    signedHeaderList,
    createHash('sha256').update(request.body).digest('hex'),
  ].join('\n');
  const toSign = `SDK-HMAC-SHA256\n${sdkDate}\n${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
  const expected = createHmac('sha256', Buffer.from(secretKey, 'utf8')).update(toSign, 'utf8').digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'verify aksk signature fail', accessKey, signedHeaders };
  }
  return { ok: true, accessKey, signedHeaders };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseSdkDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** RFC 3986 unreserved characters stay, every other UTF-8 byte becomes %XY. */
function encodeComponent(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function canonicalPath(path: string): string {
  const encoded = path
    .split('/')
    .map((segment) => encodeComponent(decodeURIComponent(segment)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const index = pair.indexOf('=');
      const name = index < 0 ? pair : pair.slice(0, index);
      const value = index < 0 ? '' : pair.slice(index + 1);
      return [encodeComponent(decodeURIComponent(name)), encodeComponent(decodeURIComponent(value))];
    })
    .sort(([nameA, valueA], [nameB, valueB]) => (nameA < nameB ? -1 : nameA > nameB ? 1 : valueA < valueB ? -1 : valueA > valueB ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}
