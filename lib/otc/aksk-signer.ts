import { createHash, createHmac } from 'node:crypto';
import { registerSecret } from '../redaction';
import type { AccessKeyCredentials } from './credentials';
import type { PreparedRequest, RequestAuthorizer } from './http-client';
import { compareCodeUnits, compareEntryKeys } from '../code-unit-order';

/*
 * AK/SK request signing, "SDK-HMAC-SHA256", as the Huawei/OTC API Gateway documents it ("API Request
 * Signing Guide") and as the Huawei SDK signer implements it:
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(SK, StringToSign))
 *   Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>
 *
 * CanonicalURI is the RFC 3986-encoded path, each segment encoded, always ending in "/". Every header
 * this client sets is signed (lower-cased names, sorted, values trimmed), including Host and
 * X-Sdk-Date. The published example (GET .../vpcs?limit=2&marker=…, 20191115T033655Z) is a test vector
 * in test/otc/aksk-signer.test.ts.
 */

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const SDK_DATE_HEADER = 'X-Sdk-Date';

/** What is signed: the request exactly as it will be sent. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers to send and sign (any case). Host and X-Sdk-Date are added by `signRequest`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

export interface AccessKeyPair {
  readonly accessKey: string;
  readonly secretKey: string;
}

/** `YYYYMMDDTHHMMSSZ` (UTC), the X-Sdk-Date format. */
export function formatSdkDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3986 percent-encoding: keeps A-Z a-z 0-9 - _ . ~, encodes every other byte as %XY (upper case). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path, each segment decoded then encoded, ending in "/" (the signing form; the request URL need not end in "/"). */
export function canonicalUri(url: URL): string {
  const path = url.pathname
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  return path.endsWith('/') ? path : `${path}/`;
}

/** Query parameters sorted by name, then value; each `enc(name)=enc(value)`, joined by "&". */
export function canonicalQueryString(url: URL): string {
  return [...url.searchParams.entries()]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([nameA, valueA], [nameB, valueB]) => (nameA === nameB ? compareCodeUnits(valueA, valueB) : compareCodeUnits(nameA, nameB)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Lower-cased header names, sorted, and their trimmed values. */
function canonicalHeaderEntries(headers: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(headers)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value.trim()])
    .sort(compareEntryKeys); // the signing guide's "sorted": by code unit
}

export function canonicalRequest(request: SignableRequest): string {
  const headers = canonicalHeaderEntries(request.headers);
  return [
    request.method.toUpperCase(),
    canonicalUri(request.url),
    canonicalQueryString(request.url),
    headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    headers.map(([name]) => name).join(';'),
    sha256Hex(request.body),
  ].join('\n');
}

export function stringToSign(canonical: string, sdkDate: string): string {
  return [SIGNING_ALGORITHM, sdkDate, sha256Hex(canonical)].join('\n');
}

/**
 * Returns the headers to send: the request's own, plus Host, X-Sdk-Date and Authorization. Every
 * header in the result except Authorization is signed.
 */
export function signRequest(request: SignableRequest, keys: AccessKeyPair, now: Date): Record<string, string> {
  const headers: Record<string, string> = { ...request.headers };
  const names = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  if (!names.has('host')) headers.Host = request.url.host;
  if (!names.has('x-sdk-date')) headers[SDK_DATE_HEADER] = formatSdkDate(now);
  const sdkDate = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-sdk-date')![1];
  const signed = { ...request, headers };
  const signature = createHmac('sha256', keys.secretKey).update(stringToSign(canonicalRequest(signed), sdkDate)).digest('hex');
  const signedHeaders = canonicalHeaderEntries(headers)
    .map(([name]) => name)
    .join(';');
  return { ...headers, Authorization: `${SIGNING_ALGORITHM} Access=${keys.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Signs every attempt of a KMS call with an access key: adds X-Project-Id (project-scoped APIs need it
 * with AK/SK) and, for temporary credentials, X-Security-Token; both are signed with the rest. Each
 * signature is registered with the secret registry (within the 15-minute skew window it would let
 * anyone replay the request), so that a server echoing the Authorization header is redacted.
 */
export class AccessKeyAuthorizer implements RequestAuthorizer {
  constructor(
    private readonly credentials: AccessKeyCredentials,
    private readonly projectId: string,
    /** @default - the system clock */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async authorize(request: PreparedRequest): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...request.headers, 'X-Project-Id': this.projectId };
    if (this.credentials.securityToken) headers['X-Security-Token'] = this.credentials.securityToken.reveal();
    const signed = signRequest(
      { method: request.method, url: request.url, headers, body: request.body },
      { accessKey: this.credentials.accessKey.reveal(), secretKey: this.credentials.secretKey.reveal() },
      this.clock(),
    );
    registerSecret(/Signature=([0-9a-f]+)/.exec(signed.Authorization)?.[1]);
    return signed;
  }
}
