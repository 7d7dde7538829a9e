import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import S3rver from 's3rver';

/**
 * A real S3 server on loopback for the remote state tests: s3rver (an S3 implementation on the file
 * system, from npm) stores the objects and answers the object API the real @aws-sdk/client-s3 talks
 * to. s3rver 3.7 answers the bucket sub-resources `?versioning`, `?acl` and `?policy` with
 * NotImplemented, so a small front on loopback answers those three the way OBS's S3 API does (the
 * bucket's settings as the test sets them), enforces what the bootstrap bucket's configuration
 * enforces on OBS (SSE-KMS with its key on every PUT: refused with 400 otherwise), records every
 * request, and hands everything else to s3rver's request handler unchanged (the same request, its
 * signed headers included; in the process, not through a second connection).
 */
export interface ObsTestServerOptions {
  readonly bucket?: string;
  /** The SSE-KMS key every PUT must name. @default a fixed test UUID */
  readonly kmsKeyId?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

export const TEST_KMS_KEY_ID = '0b6b7c1e-3a58-4c1e-9a3c-5d6e7f809102';
/** How s3rver names the file of an object's bytes: `<key>._S3rver_object` (s3rver/lib/stores/filesystem.js, S3RVER_SUFFIX). */
const S3RVER_OBJECT_SUFFIX = '._S3rver_object';

export const TEST_ACCESS_KEY = 'S3RVER';
export const TEST_SECRET_KEY = 'S3RVER-secret-key-never-printed';

export class ObsTestServer {
  readonly bucket: string;
  readonly kmsKeyId: string;
  /** The bucket's versioning status as GetBucketVersioning reports it. */
  versioning: 'Enabled' | 'Suspended' | undefined = 'Enabled';
  /** Grants READ to AllUsers in GetBucketAcl. */
  publicAcl = false;
  /** The bucket policy GetBucketPolicy returns (JSON text), or none. */
  policy: string | undefined;
  readonly requests: RecordedRequest[] = [];
  /** Called for each request before it is answered; may delay it (resolve later). */
  onRequest: ((request: RecordedRequest) => Promise<void> | void) | undefined;
  private readonly directory: string;
  private s3rver?: S3rver;
  /** s3rver's handler of a request (the Koa application's callback, what its own HTTP server calls). */
  private backend?: (request: IncomingMessage, response: ServerResponse) => void;
  private front?: Server;
  /** The tail of the queue of requests s3rver is answering (one at a time, see forward). */
  private backendQueue: Promise<void> = Promise.resolve();

  constructor(options: ObsTestServerOptions = {}) {
    this.bucket = options.bucket ?? 'sigstore-test-bootstrap';
    this.kmsKeyId = options.kmsKeyId ?? TEST_KMS_KEY_ID;
    this.directory = mkdtempSync(join(tmpdir(), 'obs-test-'));
  }

  /** The endpoint for `otc.endpoints.obs`. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.front!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: this.directory, configureBuckets: [{ name: this.bucket, configs: [] }] });
    // run() creates the bucket; its own port is not used (close() expects it running).
    await this.s3rver.run();
    // s3rver logs every request through koa-logger even when silent (s3rver 3.7.1 lib/s3rver.js adds
    // lib/middleware/logger.js unconditionally; `silent` only mutes winston's console transport): a
    // colourised line built and dropped per request, and each streamed GET body piped through a byte
    // counter. Left out of the handler: remote-state and remote-state-cli, in band, 19.8 s of CPU
    // against 20.9 s (three alternating runs). Its log calls (ctx.logger) stay, still silent.
    const middleware = (this.s3rver as unknown as { middleware: ((...args: unknown[]) => unknown)[] }).middleware;
    const logger = middleware.findIndex((handler) => handler.name === 'logger');
    if (logger < 0) throw new Error('obs-server: s3rver has no koa-logger middleware any more; drop this removal');
    middleware.splice(logger, 1);
    this.backend = this.s3rver.callback();
    this.front = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.front!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    // Connections still open (a request a test left hanging) are ended first: close() waits for them.
    const closed = new Promise<void>((resolve) => (this.front ? this.front.close(() => resolve()) : resolve()));
    this.front?.closeAllConnections();
    await closed;
    await this.s3rver?.close();
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** The environment a CLI process needs to reach this server. */
  cliEnvironment(): NodeJS.ProcessEnv {
    return { OS_ACCESS_KEY: TEST_ACCESS_KEY, OS_SECRET_KEY: TEST_SECRET_KEY };
  }

  /** The `otc` and `state` YAML of an environment whose state lives here. */
  environmentYaml(extra = ''): string {
    return (
      'otc:\n  region: eu-de\n  endpoints:\n' +
      `    obs: ${this.endpoint}\n` +
      '  kms:\n    fulcioRootKeyAlias: sigstore-fulcio-root-g1\n    tsaRootKeyAlias: sigstore-tsa-root-g1\n' +
      `state:\n  backend: obs\n  bucket: ${this.bucket}\n  kmsKeyId: ${this.kmsKeyId}\n  lockTtlSeconds: 10\n${extra}`
    );
  }

  /**
   * Makes every object whose key starts with `prefix` `seconds` older to the S3 API, as if that long
   * had passed since it was last written: s3rver answers LastModified (in listings and HEAD) with the
   * modification time of the object's file (s3rver/lib/stores/filesystem.js, getMetadata), so that
   * time is moved back. Returns the keys it aged.
   */
  age(prefix: string, seconds: number): string[] {
    const bucketDirectory = join(this.directory, this.bucket);
    const aged: string[] = [];
    const visit = (directory: string) => {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) visit(path);
        else if (entry.name.endsWith(S3RVER_OBJECT_SUFFIX)) {
          const key = relative(bucketDirectory, path).split(sep).join('/').slice(0, -S3RVER_OBJECT_SUFFIX.length);
          if (!key.startsWith(prefix)) continue;
          const { atime, mtime } = statSync(path);
          utimesSync(path, atime, new Date(mtime.getTime() - seconds * 1000));
          aged.push(key);
        }
      }
    };
    visit(bucketDirectory);
    return aged;
  }

  /**
   * Removes every object of the bucket, as if each had been deleted, without a request: the bucket,
   * its configuration (s3rver's `._S3rver_*` files at the bucket's top) and the recorded requests
   * stay. Waits for the request s3rver is answering first, so no request sees half a removal.
   */
  async clear(): Promise<void> {
    await this.backendQueue;
    const bucketDirectory = join(this.directory, this.bucket);
    for (const entry of readdirSync(bucketDirectory)) {
      if (!entry.startsWith('._S3rver_')) rmSync(join(bucketDirectory, entry), { recursive: true, force: true });
    }
  }

  /** PUTs of objects whose key starts with `prefix`. */
  puts(prefix = ''): RecordedRequest[] {
    return this.requests.filter((entry) => entry.method === 'PUT' && decodeURIComponent(entry.path.split('?')[0]).startsWith(`/${this.bucket}/${prefix}`));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const recorded: RecordedRequest = { method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers };
    this.requests.push(recorded);
    await this.onRequest?.(recorded);
    const url = new URL(request.url ?? '/', 'http://localhost');
    const isBucket = url.pathname.replace(/\/+$/, '') === `/${this.bucket}`;
    if (isBucket && request.method === 'GET' && url.searchParams.has('versioning')) {
      return xml(response, 200, `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${this.versioning ? `<Status>${this.versioning}</Status>` : ''}</VersioningConfiguration>`);
    }
    if (isBucket && request.method === 'GET' && url.searchParams.has('acl')) {
      const publicGrant = this.publicAcl
        ? '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>'
        : '';
      return xml(
        response,
        200,
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>owner</ID></Owner><AccessControlList>' +
          '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>' +
          `${publicGrant}</AccessControlList></AccessControlPolicy>`,
      );
    }
    if (isBucket && request.method === 'GET' && url.searchParams.has('policy')) {
      if (this.policy === undefined) return xml(response, 404, `<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message><BucketName>${this.bucket}</BucketName></Error>`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(this.policy);
      return;
    }
    if (request.method === 'PUT' && !isBucket) {
      const sse = request.headers['x-amz-server-side-encryption'];
      const key = request.headers['x-amz-server-side-encryption-aws-kms-key-id'];
      if (sse !== 'aws:kms' || key !== this.kmsKeyId) {
        request.resume();
        return xml(response, 400, `<Error><Code>InvalidEncryptionAlgorithmError</Code><Message>SSE-KMS with key ${this.kmsKeyId} is required (got ${String(sse)}, ${String(key)})</Message></Error>`);
      }
    }
    await this.forward(request, response);
  }

  /**
   * Passes a request to s3rver, one at a time. s3rver's file store is not atomic: a DELETE that
   * lands while a GET or a listing of the same key reads its files makes s3rver throw ENOENT outside
   * any handler and crash the test process (seen in CI with the lock objects). OBS, like S3, applies
   * each request atomically, so answering them in sequence is the faithful stand-in.
   */
  private forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Whether the client's connection closed (a killed push): noted at once, as the request may wait
    // for its turn behind others and its 'close' would then have passed before the turn listens.
    let clientGone = false;
    response.once('close', () => (clientGone = true));
    const turn = this.backendQueue.then(
      () =>
        new Promise<void>((done) => {
          // A request whose client left while it waited is dropped: nothing would ever end its turn.
          if (clientGone) return done();
          response.once('close', done);
          this.backend!(request, response);
        }),
    );
    this.backendQueue = turn;
    return turn;
  }
}

function xml(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

export async function startObsTestServer(options: ObsTestServerOptions = {}): Promise<ObsTestServer> {
  return new ObsTestServer(options).start();
}
