import { createCipheriv, createDecipheriv, createHash, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rsaKeyPair } from '../helpers/rsa-fixture-keys';
import { verifyAkSk } from './emulator/aksk-verifier';
import { rawToDer, signDigest, type EmulatedCurve } from './emulator/digest-ecdsa';

/*
 * A loopback emulator of OTC IAM (token issue) and DEW KMS (create-key, list-keys, describe-key,
 * get-publickey, sign, create-datakey, decrypt-datakey), for tests and the bench. A test fixture, not product.
 *
 * What it implements, from the OTC API references (reference/otc-cdktf.md §3):
 * - IAM `POST /v3/auth/tokens` (password method, project scope) → 201 and X-Subject-Token.
 * - KMS `POST /v1.0/{project_id}/kms/<action>`, JSON bodies, `{"error":{"error_code","error_msg"}}`
 *   errors with the documented codes, string booleans and string key states, key ids or `alias/<name>`,
 *   the 36-character `sequence`, PEM public keys with \r\n line breaks.
 * - Authentication on every KMS call: X-Auth-Token (issued here, scoped to the project, with an
 *   expiry) or an SDK-HMAC-SHA256 AK/SK signature verified independently of the client's signer,
 *   with X-Project-Id and the 15-minute clock-skew window.
 * - Sign checks: key usage and state, algorithm against the key spec, digest length (KMS.0329).
 * - Data keys (API reference "Creating a DEK" kms_02_0020 and "Decrypting a DEK" kms_02_0023,
 *   opentelekomcloud-docs/key-management-service api-ref/source/apis/key_management_service/
 *   cmk_management/creating_a_dek.rst and decrypting_a_dek.rst): create-datakey takes key_id (id or
 *   alias/<name>), datakey_length "512" (KMS.1901/1903/2001 otherwise), optional encryption_context
 *   (KMS.0208 when it is not string pairs of at most 8192 characters), and answers key_id,
 *   plain_text and cipher_text in hex; decrypt-datakey takes key_id, cipher_text,
 *   datakey_cipher_length "64" (KMS.2202 otherwise) and the same encryption_context, and answers
 *   data_key, datakey_length and datakey_dgst (SHA-256 of the plaintext, hex). Only enabled
 *   AES_256 ENCRYPT_DECRYPT keys take part (KMS.1114 for EC keys, KMS.0335 for SIGN_VERIFY keys).
 *   Each symmetric key holds real AES-256 material that never leaves the emulator. The cipher text
 *   follows the layout of the documented example (188 bytes: a 4-byte header [02 00][length 0x98
 *   LE], 112 bytes of sealed key, the CMK id in ASCII, 4 zero bytes, and a SHA-256 of all before it,
 *   which is what the example's last 32 bytes are); the 112 bytes are this emulator's own AES-256-GCM
 *   sealing (32-byte IV, the 64-byte key, 16-byte tag; AAD = the key id and the encryption context).
 *   A cipher text whose digest does not match answers KMS.2203 ("Failed to verify the DEK hash"), one
 *   of another key (or a context that differs) KMS.2201 ("Invalid cipher_text"), a wrong length
 *   KMS.2204. Which code DEW gives for a cipher text of another key is not documented: KMS.2201 is
 *   our reading.
 * - Faults on demand: HTTP 429/5xx for the next N calls of an API, slow answers, expired tokens,
 *   signatures that do not verify, raw r‖s instead of DER, any documented error code, error bodies
 *   (JSON or plain text) that echo the request's credentials, and 3xx redirects.
 * Keys are generated and held here (node:crypto); private keys never leave the emulator.
 * Out of scope: RSA/SM2 signing, verify, MAC, grants, tags, rotation, key material import.
 */

export type KmsAction = 'create-key' | 'list-keys' | 'describe-key' | 'get-publickey' | 'sign' | 'create-datakey' | 'decrypt-datakey';
export type EmulatedApi = KmsAction | 'auth/tokens';

export interface EmulatorUser {
  readonly name: string;
  readonly password: string;
  readonly domainName: string;
}

export interface EmulatorAccessKey {
  readonly accessKey: string;
  readonly secretKey: string;
  /** Temporary credentials: X-Security-Token must carry this. */
  readonly securityToken?: string;
}

export interface KmsEmulatorOptions {
  readonly projectId: string;
  readonly users?: readonly EmulatorUser[];
  readonly accessKeys?: readonly EmulatorAccessKey[];
  /** @default 24 hours */
  readonly tokenLifetimeMs?: number;
  /** The emulator's clock (token expiry, X-Sdk-Date skew). @default - the system clock */
  readonly clock?: () => Date;
  /** How sign returns ECDSA signatures (OTC does not document it). @default der */
  readonly signatureEncoding?: 'der' | 'raw';
  /** @default 100 (the documented custom-key quota) */
  readonly keyQuota?: number;
  /** How long the servers keep an idle keep-alive connection open. @default 5000 (node:http's default) */
  readonly keepAliveTimeoutMs?: number;
}

/** One request as the emulator saw it (for assertions and the bench's call counts). */
export interface EmulatedCall {
  readonly service: 'iam' | 'kms';
  readonly api: string;
  readonly status: number;
  readonly auth?: 'token' | 'aksk';
  readonly errorCode?: string;
  /** The request's `sequence`, when it sent one. */
  readonly sequence?: string;
  readonly requestId: string;
}

export interface Fault {
  readonly api: EmulatedApi;
  /** Answer with this status instead of serving the call. */
  readonly status?: number;
  /** Delay the answer (to exceed the client's timeout). */
  readonly delayMs?: number;
  /** How many calls it applies to. @default 1 */
  readonly times?: number;
  /** Sent as Retry-After (seconds). */
  readonly retryAfterSeconds?: number;
  /** Serve the call (e.g. create the key), then answer with `status` anyway: an answer lost on the way. */
  readonly afterServing?: boolean;
  /** Let this many calls of `api` pass before the fault applies. @default 0 */
  readonly skip?: number;
  /** Expire every issued token just before the call is authenticated. */
  readonly expireTokens?: boolean;
  /** With `status` (4xx/5xx): the KMS error code of the answer. @default KMS.0101 */
  readonly errorCode?: string;
  /** With `status`: the error message. @default - the documented message of `errorCode` */
  readonly errorMessage?: string;
  /**
   * With `status`: the error message also echoes the request's credential headers (X-Auth-Token,
   * Authorization with its AK and signature, X-Security-Token), as a careless gateway might. The
   * echoed values are recorded in `KmsEmulator.echoed`.
   */
  readonly echoCredentials?: boolean;
  /** With `status`: answer with a plain-text body instead of the JSON error object. */
  readonly plainTextBody?: boolean;
  /** With a 3xx `status`: the Location header (a function sees the request, e.g. to put its token in the URL). */
  readonly location?: string | ((request: IncomingMessage) => string);
}

/** The documented messages of the codes faults are injected with (OTC KMS API reference, "Error Code"). */
const DOCUMENTED_MESSAGES: Record<string, string> = {
  'KMS.0101': 'KMS error.',
  'KMS.0203': 'Request message too long.',
  'KMS.0206': 'Invalid sequence number.',
  'KMS.0209': 'The key has been disabled.',
  'KMS.0210': 'The key is in Scheduled deletion state and cannot be used.',
  'KMS.0211': 'Cannot perform this operation on Default Master Keys.',
  'KMS.0215': 'Request method not supported.',
  'KMS.0301': 'Invalid or null X-Auth-Token.',
  'KMS.0302': 'Invalid X-Auth-Token.',
  'KMS.0303': 'X-Auth-Token expired.',
  'KMS.0304': 'X-Auth-Token contains the OBT tag and cannot be used to access services.',
  'KMS.0305': 'Invalid X-Auth-Token project name.',
  'KMS.0306': 'No access permissions.',
  'KMS.0308': 'Invalid parameter.',
  'KMS.0314': 'Real-name authentication is required to access the API.',
  'KMS.0320': 'Resource frozen.',
  'KMS.0321': 'URIs in URL and X-Auth-Token do not match.',
  'KMS.0327': 'Failed to obtain user permissions.',
  'KMS.0328': 'KMS has been frozen. Renew it and try again.',
  'KMS.1103': 'Invalid key_description.',
  'KMS.1301': 'The key is not enabled.',
  'KMS.2201': 'Invalid cipher_text.',
  'KMS.2203': 'Failed to verify the DEK hash.',
};

interface EmulatedKey {
  readonly keyId: string;
  readonly alias: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  state: string;
  readonly description: string;
  readonly origin: string;
  readonly creationDate: string;
  readonly privateKey?: KeyObject;
  readonly publicKey?: KeyObject;
  /** AES-256 key material of a symmetric key (origin kms). */
  readonly material?: Buffer;
}

interface IssuedToken {
  readonly projectId: string;
  expiresAt: Date;
}

const KEY_SPECS = ['AES_256', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_P256', 'EC_P384', 'HMAC_256', 'HMAC_384', 'HMAC_512'];
const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA_SM3',
];
const DIGEST_BYTES: Record<string, number> = { SHA_256: 32, SHA_384: 48, SHA_512: 64 };
const EC_CURVES: Record<string, { curve: EmulatedCurve; nodeCurve: string; hash: string }> = {
  EC_P256: { curve: 'P-256', nodeCurve: 'prime256v1', hash: 'SHA_256' },
  EC_P384: { curve: 'P-384', nodeCurve: 'secp384r1', hash: 'SHA_384' },
};
const KEY_ID = /^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/;
const ALIAS = /^[a-zA-Z0-9:/_-]{1,255}$/;
const DOMAIN_ID = randomBytes(16).toString('hex');

class KmsFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export class KmsEmulator {
  readonly calls: EmulatedCall[] = [];
  /** Every credential value an `echoCredentials` fault put into an answer. */
  readonly echoed: string[] = [];
  /** Answer sign with a signature over other data (well-formed, but it does not verify). */
  corruptSignatures = false;
  signatureEncoding: 'der' | 'raw';

  private readonly keys = new Map<string, EmulatedKey>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly faults: { fault: Fault; remaining: number; skip: number }[] = [];
  /** The timers of injected delays still running: stop() clears them (a pending timer would keep the test process alive). */
  private readonly delays = new Set<NodeJS.Timeout>();
  private readonly clock: () => Date;
  private iamServer?: Server;
  private kmsServer?: Server;
  iamEndpoint = '';
  kmsEndpoint = '';

  private constructor(private readonly options: KmsEmulatorOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.signatureEncoding = options.signatureEncoding ?? 'der';
  }

  /** Starts IAM and KMS on two loopback ports. */
  static async start(options: KmsEmulatorOptions): Promise<KmsEmulator> {
    const emulator = new KmsEmulator(options);
    emulator.iamServer = await listen((request, response) => emulator.handle('iam', request, response), options.keepAliveTimeoutMs);
    emulator.kmsServer = await listen((request, response) => emulator.handle('kms', request, response), options.keepAliveTimeoutMs);
    emulator.iamEndpoint = `http://127.0.0.1:${(emulator.iamServer.address() as AddressInfo).port}`;
    emulator.kmsEndpoint = `http://127.0.0.1:${(emulator.kmsServer.address() as AddressInfo).port}`;
    return emulator;
  }

  async stop(): Promise<void> {
    // A delayed answer whose client is gone (e.g. a killed CLI) never goes out: its handler stays parked, its timer cleared.
    for (const timer of this.delays) clearTimeout(timer);
    this.delays.clear();
    for (const server of [this.iamServer, this.kmsServer]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Waits `ms` on a timer that stop() clears. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.delays.delete(timer);
        resolve();
      }, ms);
      this.delays.add(timer);
    });
  }

  /** Queues a fault for the next `times` calls of `api`. */
  inject(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? 1, skip: fault.skip ?? 0 });
  }

  /** Drops every queued fault that has not fired yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** The tokens IAM issued so far (for tests that look for them in output). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Every issued token expires now. */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.expiresAt = new Date(this.clock().getTime() - 1000);
  }

  /** Creates a key directly (test setup), e.g. one with the wrong spec. Returns its id. */
  seedKey(key: { alias: string; keySpec: string; keyUsage?: string; state?: string }): string {
    return this.addKey(key.alias, key.keySpec, key.keyUsage ?? defaultUsage(key.keySpec), '', 'kms', key.state ?? '2').keyId;
  }

  /** Sets a key's state (`3` disabled, `4` pending deletion, …). */
  setKeyState(keyId: string, state: string): void {
    this.keys.get(keyId)!.state = state;
  }

  /** The keys' public facts (no key material). */
  listKeys(): { keyId: string; alias: string; keySpec: string; keyUsage: string; state: string }[] {
    return [...this.keys.values()].map(({ keyId, alias, keySpec, keyUsage, state }) => ({ keyId, alias, keySpec, keyUsage, state }));
  }

  /** The public key of an asymmetric key (what get-publickey returns, as a KeyObject). */
  publicKeyOf(keyId: string): KeyObject {
    return this.keys.get(keyId)!.publicKey!;
  }

  /** Calls per service and API: `{ "kms sign": 4, "iam auth/tokens": 1 }`. */
  callCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.calls) counts[`${call.service} ${call.api}`] = (counts[`${call.service} ${call.api}`] ?? 0) + 1;
    return counts;
  }

  private async handle(service: 'iam' | 'kms', request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomBytes(16).toString('hex');
    const body = await readBody(request);
    const path = (request.url ?? '').split('?')[0];
    const api = service === 'iam' ? (path === '/v3/auth/tokens' ? 'auth/tokens' : path) : (/^\/v1\.0\/[^/]+\/kms\/([a-z-]+)$/.exec(path)?.[1] ?? path);
    let parsedSequence: string | undefined;
    const record = (status: number, extra: Partial<EmulatedCall> = {}) =>
      this.calls.push({ service, api, status, requestId, ...(parsedSequence ? { sequence: parsedSequence } : {}), ...extra });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'X-Request-Id': requestId, ...headers });
      response.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };

    const fault = this.takeFault(api as EmulatedApi);
    if (fault?.delayMs) await this.delay(fault.delayMs);
    if (fault?.expireTokens) this.expireTokens();
    const sendFault = (status: number) => {
      const headers: Record<string, string> = fault?.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
      record(status, { errorCode: fault?.errorCode ?? 'injected' });
      if (status >= 300 && status < 400) {
        const location = typeof fault?.location === 'function' ? fault.location(request) : fault?.location;
        return send(status, '', { ...headers, ...(location ? { Location: location } : {}), 'Content-Type': 'text/plain' });
      }
      if (fault?.errorCode || fault?.errorMessage || fault?.echoCredentials || fault?.plainTextBody) {
        const code = fault.errorCode ?? 'KMS.0101';
        let message = fault.errorMessage ?? DOCUMENTED_MESSAGES[code] ?? 'KMS error.';
        if (fault.echoCredentials) {
          const echoed = ['x-auth-token', 'authorization', 'x-security-token']
            .map((name) => [name, request.headers[name]] as const)
            .filter((entry): entry is readonly [string, string] => typeof entry[1] === 'string');
          this.echoed.push(...echoed.map(([, value]) => value));
          message += ` (request headers: ${echoed.map(([name, value]) => `${name}: ${value}`).join('; ')})`;
        }
        if (fault.plainTextBody) return send(status, `${code} ${message}`, { ...headers, 'Content-Type': 'text/plain' });
        return send(status, { error: { error_code: code, error_msg: message } }, headers);
      }
      if (status === 429) {
        // API Gateway throttling answer (flat error object; the exact text is not documented for KMS).
        return send(429, { error_code: 'APIGW.0308', error_msg: 'The throttling threshold has been reached', request_id: requestId }, headers);
      }
      if (status === 502 || status === 504) return send(status, '<html><body>Bad Gateway</body></html>', { ...headers, 'Content-Type': 'text/html' });
      return send(status, { error: { error_code: 'KMS.0101', error_msg: 'KMS error.' } }, headers);
    };
    if (fault?.status && !fault.afterServing) return sendFault(fault.status);

    try {
      if (service === 'iam') {
        const { status, token, payload } = this.issueToken(request, body);
        record(status);
        return send(status, payload, token ? { 'X-Subject-Token': token } : {});
      }
      const match = /^\/v1\.0\/([^/]+)\/kms\/([a-z-]+)$/.exec(path);
      if (!match) throw new KmsFailure(404, 'KMS.0201', 'Invalid request URL.');
      const [, projectId, action] = match;
      if (request.method !== 'POST') throw new KmsFailure(405, 'KMS.0215', 'Request method not supported.');
      const auth = this.authenticate(request, body, projectId);
      const contentType = String(request.headers['content-type'] ?? '');
      if (!contentType.startsWith('application/json')) throw new KmsFailure(400, 'KMS.0202', 'Invalid JSON format of the request message.');
      let params: Record<string, unknown>;
      try {
        params = JSON.parse(body.toString('utf8'));
        if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new Error('not an object');
      } catch {
        throw new KmsFailure(400, 'KMS.0202', 'Invalid JSON format of the request message.');
      }
      if (params.sequence !== undefined) {
        if (typeof params.sequence !== 'string' || params.sequence.length !== 36) throw new KmsFailure(400, 'KMS.0206', 'Invalid sequence number.');
        parsedSequence = params.sequence;
      }
      const payload = this.serve(action, params);
      if (fault?.status && fault.afterServing) return sendFault(fault.status);
      record(200, { auth });
      return send(200, payload);
    } catch (error) {
      if (error instanceof KmsFailure) {
        record(error.status, { errorCode: error.errorCode });
        if (error.errorCode.startsWith('APIGW.')) return send(error.status, { error_code: error.errorCode, error_msg: error.message, request_id: requestId });
        if (error.errorCode.startsWith('IAM.')) return send(error.status, { error: { code: error.status, message: error.message, title: 'Unauthorized' } });
        return send(error.status, { error: { error_code: error.errorCode, error_msg: error.message } });
      }
      record(500, { errorCode: 'emulator-bug' });
      return send(500, { error: { error_code: 'KMS.0103', error_msg: `emulator: ${(error as Error).message}` } });
    }
  }

  private takeFault(api: EmulatedApi): Fault | undefined {
    const entry = this.faults.find((candidate) => candidate.fault.api === api && candidate.remaining > 0);
    if (!entry) return undefined;
    if (entry.skip > 0) {
      entry.skip--;
      return undefined;
    }
    entry.remaining--;
    return entry.fault;
  }

  private issueToken(request: IncomingMessage, body: Buffer): { status: number; token?: string; payload: unknown } {
    if (request.method !== 'POST') throw new KmsFailure(405, 'IAM.0001', 'Method not allowed.');
    const unauthorized = () => new KmsFailure(401, 'IAM.0002', 'The request you have made requires authentication.');
    let auth: {
      identity?: { methods?: unknown; password?: { user?: { name?: unknown; password?: unknown; domain?: { name?: unknown } } } };
      scope?: { project?: { id?: unknown; name?: unknown } };
    };
    try {
      auth = JSON.parse(body.toString('utf8')).auth ?? {};
    } catch {
      throw new KmsFailure(400, 'IAM.0003', 'The request body is not JSON.');
    }
    const user = auth.identity?.password?.user;
    if (!Array.isArray(auth.identity?.methods) || !auth.identity.methods.includes('password') || !user) throw unauthorized();
    const known = this.options.users?.find(
      (candidate) => candidate.name === user.name && candidate.password === user.password && candidate.domainName === user.domain?.name,
    );
    if (!known) throw unauthorized();
    if (auth.scope?.project?.id !== this.options.projectId) throw unauthorized();
    const token = `MII${randomBytes(96).toString('base64')}`;
    const issuedAt = this.clock();
    const expiresAt = new Date(issuedAt.getTime() + (this.options.tokenLifetimeMs ?? 24 * 3600_000));
    this.tokens.set(token, { projectId: this.options.projectId, expiresAt });
    return {
      status: 201,
      token,
      payload: {
        token: {
          methods: ['password'],
          issued_at: issuedAt.toISOString(),
          expires_at: expiresAt.toISOString(),
          user: { name: known.name, domain: { name: known.domainName } },
          project: { id: this.options.projectId, name: 'eu-de_sigstore' },
          catalog: [],
        },
      },
    };
  }

  /** X-Auth-Token, or an AK/SK signature (with X-Project-Id). */
  private authenticate(request: IncomingMessage, body: Buffer, projectId: string): 'token' | 'aksk' {
    const token = request.headers['x-auth-token'];
    if (typeof token === 'string') {
      const issued = this.tokens.get(token);
      if (!issued) throw new KmsFailure(403, 'KMS.0302', 'Invalid X-Auth-Token.');
      if (issued.expiresAt.getTime() <= this.clock().getTime()) throw new KmsFailure(403, 'KMS.0303', 'X-Auth-Token expired.');
      if (issued.projectId !== projectId) throw new KmsFailure(403, 'KMS.0321', 'URIs in URL and X-Auth-Token do not match.');
      return 'token';
    }
    if (request.headers.authorization === undefined) throw new KmsFailure(401, 'APIGW.0301', 'Incorrect IAM authentication information: no authentication');
    const check = verifyAkSk(
      { method: request.method ?? '', rawUrl: request.url ?? '', headers: request.headers, body },
      (accessKey) => this.options.accessKeys?.find((candidate) => candidate.accessKey === accessKey)?.secretKey,
      this.clock(),
    );
    if (!check.ok) throw new KmsFailure(401, 'APIGW.0301', `Incorrect IAM authentication information: ${check.reason}`);
    const keyPair = this.options.accessKeys!.find((candidate) => candidate.accessKey === check.accessKey)!;
    if (keyPair.securityToken !== undefined && request.headers['x-security-token'] !== keyPair.securityToken) {
      throw new KmsFailure(401, 'APIGW.0301', 'Incorrect IAM authentication information: security token is invalid');
    }
    if (request.headers['x-project-id'] !== projectId) throw new KmsFailure(403, 'KMS.0305', 'Invalid X-Auth-Token project name.');
    if (projectId !== this.options.projectId) throw new KmsFailure(403, 'KMS.0321', 'URIs in URL and X-Auth-Token do not match.');
    return 'aksk';
  }

  private serve(action: string, params: Record<string, unknown>): unknown {
    switch (action) {
      case 'create-key':
        return this.createKey(params);
      case 'list-keys':
        return this.listKeysAction(params);
      case 'describe-key':
        return { key_info: keyInfo(this.resolve(params.key_id)) };
      case 'get-publickey':
        return this.getPublicKey(params);
      case 'sign':
        return this.sign(params);
      case 'create-datakey':
        return this.createDataKey(params);
      case 'decrypt-datakey':
        return this.decryptDataKey(params);
      default:
        throw new KmsFailure(404, 'KMS.0201', 'Invalid request URL.');
    }
  }

  private createKey(params: Record<string, unknown>): unknown {
    const alias = params.key_alias;
    if (alias === undefined) throw new KmsFailure(400, 'KMS.0204', 'Parameters missing in the request message.');
    if (typeof alias !== 'string' || !ALIAS.test(alias) || alias.endsWith('/default')) throw new KmsFailure(400, 'KMS.1101', 'Invalid key_alias.');
    const keySpec = params.key_spec ?? 'AES_256';
    if (typeof keySpec !== 'string' || !KEY_SPECS.includes(keySpec)) throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    const keyUsage = params.key_usage ?? defaultUsage(keySpec);
    if (typeof keyUsage !== 'string' || !allowedUsages(keySpec).includes(keyUsage)) {
      if (keySpec.startsWith('EC_') && keyUsage === 'ENCRYPT_DECRYPT') throw new KmsFailure(400, 'KMS.1114', 'EC keys do not support to encrypt/decrypt.');
      throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    }
    const description = params.key_description ?? '';
    if (typeof description !== 'string' || description.length > 255) throw new KmsFailure(400, 'KMS.1103', 'Invalid key_description.');
    const origin = params.origin ?? 'kms';
    if (origin !== 'kms' && origin !== 'external') throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    if ([...this.keys.values()].some((key) => key.alias === alias)) throw new KmsFailure(400, 'KMS.1104', 'Duplicate key aliases.');
    if (this.keys.size >= (this.options.keyQuota ?? 100)) throw new KmsFailure(400, 'KMS.1105', 'Too many keys.');
    const key = this.addKey(alias, keySpec, keyUsage, description, origin, origin === 'external' ? '5' : '2');
    return { key_info: { key_id: key.keyId, domain_id: DOMAIN_ID } };
  }

  private listKeysAction(params: Record<string, unknown>): unknown {
    const limit = params.limit === undefined ? 1000 : Number(params.limit);
    if (typeof params.limit === 'number' || !Number.isInteger(limit) || limit < 1) throw new KmsFailure(400, 'KMS.1601', 'Invalid limit.');
    const marker = params.marker === undefined ? 0 : Number(params.marker);
    if (!Number.isInteger(marker) || marker < 0) throw new KmsFailure(400, 'KMS.1602', 'marker must be greater than or equals 0.');
    const state = params.key_state;
    const all = [...this.keys.values()].filter((key) => state === undefined || key.state === state);
    const page = all.slice(marker, marker + limit);
    const truncated = marker + limit < all.length;
    return {
      keys: page.map((key) => key.keyId),
      key_details: page.map(keyInfo),
      next_marker: truncated ? String(marker + limit) : '',
      truncated: truncated ? 'true' : 'false',
      total: all.length,
    };
  }

  private getPublicKey(params: Record<string, unknown>): unknown {
    const key = this.resolve(params.key_id);
    if (!key.publicKey) throw new KmsFailure(400, 'KMS.0331', 'The symmetric key is not support this operation.');
    usableOrThrow(key);
    const pem = (key.publicKey.export({ type: 'spki', format: 'pem' }) as string).replace(/\n/g, '\r\n');
    return { key_id: key.keyId, public_key: pem };
  }

  private sign(params: Record<string, unknown>): unknown {
    if (params.key_id === undefined || params.message === undefined || params.signing_algorithm === undefined) {
      throw new KmsFailure(400, 'KMS.0204', 'Parameters missing in the request message.');
    }
    const key = this.resolve(params.key_id);
    usableOrThrow(key);
    if (!key.privateKey) throw new KmsFailure(400, 'KMS.1115', 'Symmetric keys do not support to sign/verify.');
    if (key.keyUsage !== 'SIGN_VERIFY') throw new KmsFailure(400, 'KMS.0334', 'The cmk is used to encrypt and decrypt.');
    const algorithm = params.signing_algorithm;
    if (typeof algorithm !== 'string' || !SIGNING_ALGORITHMS.includes(algorithm)) throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    const messageType = params.message_type ?? 'DIGEST';
    if (messageType !== 'DIGEST' && messageType !== 'RAW') throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    if (typeof params.message !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(params.message) || params.message.length % 4 !== 0) {
      throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    }
    const message = Buffer.from(params.message, 'base64');
    const ec = EC_CURVES[key.keySpec];
    const hash = algorithm.replace(/^ECDSA_/, '');
    // ECDSA only with EC keys, and (as far as documented) with the curve's own hash.
    if (!ec || !algorithm.startsWith('ECDSA_') || ec.hash !== hash) throw new KmsFailure(400, 'KMS.0332', 'This key is not support the signing algorithm.');
    if (message.length === 0 || message.length >= 4096) throw new KmsFailure(400, 'KMS.0203', 'Request message too long.');
    let digest: Buffer;
    if (messageType === 'DIGEST') {
      if (message.length !== DIGEST_BYTES[hash]) throw new KmsFailure(400, 'KMS.0329', 'Hash algorithm does not match the digest length.');
      digest = message;
    } else {
      digest = createHash(hash === 'SHA_256' ? 'sha256' : 'sha384').update(message).digest();
    }
    if (this.corruptSignatures) digest = Buffer.from(digest.map((byte, index) => (index === 0 ? byte ^ 0xff : byte)));
    const raw = signDigest(key.privateKey, ec.curve, digest);
    const signature = this.signatureEncoding === 'raw' ? raw : rawToDer(raw);
    return { key_id: key.keyId, signature: signature.toString('base64') };
  }

  private createDataKey(params: Record<string, unknown>): unknown {
    if (params.key_id === undefined || params.datakey_length === undefined) throw new KmsFailure(400, 'KMS.0204', 'Parameters missing in the request message.');
    const key = this.dataKeyEncryptionKey(params.key_id);
    const context = encryptionContextOf(params.encryption_context);
    if (typeof params.datakey_length !== 'string' || !/^[0-9]{1,5}$/.test(params.datakey_length)) throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    const bits = Number(params.datakey_length);
    if (bits < 8 || bits > 8192) throw new KmsFailure(400, 'KMS.1901', 'datakey_length must be in the range 8 bits to 8,192 bits.');
    if (bits % 8 !== 0) throw new KmsFailure(400, 'KMS.1903', 'datakey_length must be a multiple of 8.');
    if (bits !== DATA_KEY_BYTES * 8) throw new KmsFailure(400, 'KMS.2001', 'datakey_length must be 512 bits.');
    const plaintext = randomBytes(DATA_KEY_BYTES);
    const iv = randomBytes(32);
    const cipher = createCipheriv('aes-256-gcm', key.material!, iv);
    cipher.setAAD(dataKeyAad(key.keyId, context));
    const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const header = Buffer.alloc(4);
    header.writeUInt16LE(2, 0);
    header.writeUInt16LE(4 + sealed.length + key.keyId.length, 2);
    const body = Buffer.concat([header, sealed, Buffer.from(key.keyId, 'ascii'), Buffer.alloc(4)]);
    const cipherText = Buffer.concat([body, createHash('sha256').update(body).digest()]);
    return { key_id: key.keyId, plain_text: plaintext.toString('hex').toUpperCase(), cipher_text: cipherText.toString('hex').toUpperCase() };
  }

  private decryptDataKey(params: Record<string, unknown>): unknown {
    if (params.key_id === undefined || params.cipher_text === undefined || params.datakey_cipher_length === undefined) {
      throw new KmsFailure(400, 'KMS.0204', 'Parameters missing in the request message.');
    }
    const key = this.dataKeyEncryptionKey(params.key_id);
    const context = encryptionContextOf(params.encryption_context);
    if (params.datakey_cipher_length !== String(DATA_KEY_BYTES)) throw new KmsFailure(400, 'KMS.2202', 'datakey_cipher_length must be 64 bytes.');
    if (typeof params.cipher_text !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(params.cipher_text)) throw new KmsFailure(400, 'KMS.2201', 'Invalid cipher_text.');
    const bytes = Buffer.from(params.cipher_text, 'hex');
    if (bytes.length !== CIPHER_TEXT_BYTES) throw new KmsFailure(400, 'KMS.2204', 'The length of cipher_text does not match datakey_cipher_length.');
    const body = bytes.subarray(0, CIPHER_TEXT_BYTES - 32);
    if (!createHash('sha256').update(body).digest().equals(bytes.subarray(CIPHER_TEXT_BYTES - 32))) {
      throw new KmsFailure(400, 'KMS.2203', 'Failed to verify the DEK hash.');
    }
    const sealed = body.subarray(4, 4 + SEALED_BYTES);
    const sealedFor = body.subarray(4 + SEALED_BYTES, 4 + SEALED_BYTES + 36).toString('ascii');
    if (body.readUInt16LE(0) !== 2 || sealedFor !== key.keyId) throw new KmsFailure(400, 'KMS.2201', 'Invalid cipher_text.');
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material!, sealed.subarray(0, 32));
      decipher.setAAD(dataKeyAad(key.keyId, context));
      decipher.setAuthTag(sealed.subarray(32 + DATA_KEY_BYTES));
      plaintext = Buffer.concat([decipher.update(sealed.subarray(32, 32 + DATA_KEY_BYTES)), decipher.final()]);
    } catch {
      throw new KmsFailure(400, 'KMS.2201', 'Invalid cipher_text.');
    }
    return {
      data_key: plaintext.toString('hex').toUpperCase(),
      datakey_length: String(DATA_KEY_BYTES),
      datakey_dgst: createHash('sha256').update(plaintext).digest('hex').toUpperCase(),
    };
  }

  /** The key a data key call names: enabled, symmetric, ENCRYPT_DECRYPT. */
  private dataKeyEncryptionKey(reference: unknown): EmulatedKey {
    const key = this.resolve(reference);
    if (key.keySpec.startsWith('EC_')) throw new KmsFailure(400, 'KMS.1114', 'EC keys do not support to encrypt/decrypt.');
    if (key.keyUsage === 'SIGN_VERIFY') throw new KmsFailure(400, 'KMS.0335', 'The cmk is used to sign and verify.');
    if (!key.material) throw new KmsFailure(400, 'KMS.0308', 'Invalid parameter.');
    usableOrThrow(key);
    return key;
  }

  /** A key by id or `alias/<name>`; KMS.0205 for a malformed id, KMS.0207 for an unknown one. */
  private resolve(reference: unknown): EmulatedKey {
    if (reference === undefined) throw new KmsFailure(400, 'KMS.0204', 'Parameters missing in the request message.');
    if (typeof reference !== 'string') throw new KmsFailure(400, 'KMS.0205', 'Invalid key ID.');
    if (reference.startsWith('alias/')) {
      const alias = reference.slice('alias/'.length);
      const key = [...this.keys.values()].find((candidate) => candidate.alias === alias);
      if (!key) throw new KmsFailure(404, 'KMS.0207', 'The key does not exist.');
      return key;
    }
    if (!KEY_ID.test(reference)) throw new KmsFailure(400, 'KMS.0205', 'Invalid key ID.');
    const key = this.keys.get(reference);
    if (!key) throw new KmsFailure(404, 'KMS.0207', 'The key does not exist.');
    return key;
  }

  private addKey(alias: string, keySpec: string, keyUsage: string, description: string, origin: string, state: string): EmulatedKey {
    let pair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
    if (EC_CURVES[keySpec] && origin === 'kms') pair = generateKeyPairSync('ec', { namedCurve: EC_CURVES[keySpec].nodeCurve });
    if (keySpec.startsWith('RSA_') && origin === 'kms') pair = rsaKeyPair(Number(keySpec.slice(4)));
    const material = keySpec === 'AES_256' && keyUsage === 'ENCRYPT_DECRYPT' && origin === 'kms' ? randomBytes(32) : undefined;
    const key: EmulatedKey = {
      keyId: randomUUID(),
      alias,
      keySpec,
      keyUsage,
      state,
      description,
      origin,
      creationDate: String(this.clock().getTime()),
      ...(pair ? { privateKey: pair.privateKey, publicKey: pair.publicKey } : {}),
      ...(material ? { material } : {}),
    };
    this.keys.set(key.keyId, key);
    return key;
  }
}

/** The data key length DEW documents (bytes), the emulator's sealed block (IV, key, tag) and the whole cipher text. */
const DATA_KEY_BYTES = 64;
const SEALED_BYTES = 32 + DATA_KEY_BYTES + 16;
const CIPHER_TEXT_BYTES = 4 + SEALED_BYTES + 36 + 4 + 32;

/** An encryption_context as documented: an object of string pairs, at most 8192 characters; KMS.0208 otherwise. */
function encryptionContextOf(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const invalid = () => new KmsFailure(400, 'KMS.0208', 'Invalid value of value encryption_context.');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid();
  if (Object.values(value).some((entry) => typeof entry !== 'string') || JSON.stringify(value).length > 8192) throw invalid();
  return value as Record<string, string>;
}

/** What the sealed data key is bound to: the CMK and the encryption context (keys sorted). */
function dataKeyAad(keyId: string, context: Record<string, string>): Buffer {
  const sorted = Object.keys(context).sort().map((name) => [name, context[name]]);
  return Buffer.from(JSON.stringify([keyId, sorted]), 'utf8');
}

function defaultUsage(keySpec: string): string {
  if (keySpec.startsWith('HMAC_')) return 'GENERATE_VERIFY_MAC';
  if (keySpec === 'AES_256') return 'ENCRYPT_DECRYPT';
  return 'SIGN_VERIFY';
}

function allowedUsages(keySpec: string): string[] {
  if (keySpec.startsWith('HMAC_')) return ['GENERATE_VERIFY_MAC'];
  if (keySpec === 'AES_256') return ['ENCRYPT_DECRYPT'];
  if (keySpec.startsWith('RSA_')) return ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'];
  return ['SIGN_VERIFY'];
}

function usableOrThrow(key: EmulatedKey): void {
  if (key.state === '3') throw new KmsFailure(400, 'KMS.0209', 'The key has been disabled.');
  if (key.state === '4') throw new KmsFailure(400, 'KMS.0210', 'The key is in Scheduled deletion state and cannot be used.');
  if (key.state !== '2') throw new KmsFailure(400, 'KMS.1301', 'The key is not enabled.');
}

function keyInfo(key: EmulatedKey): Record<string, string> {
  return {
    key_id: key.keyId,
    domain_id: DOMAIN_ID,
    key_alias: key.alias,
    realm: 'eu-de',
    key_description: key.description,
    key_spec: key.keySpec,
    key_usage: key.keyUsage,
    creation_date: key.creationDate,
    scheduled_deletion_date: key.state === '4' ? String(Date.now() + 7 * 86400_000) : '',
    key_state: key.state,
    default_key_flag: '0',
    key_type: '1',
    expiration_time: '',
    origin: key.origin,
  };
}

function listen(handler: (request: IncomingMessage, response: ServerResponse) => void, keepAliveTimeoutMs?: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    if (keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = keepAliveTimeoutMs;
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
