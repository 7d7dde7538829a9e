import { OtcError } from '../errors';
import { redactServerText, redactUrl } from '../redaction';
import { isRetryableStatus, otcErrorFor, redirectErrorFor, TOKEN_REJECTED_CODES } from './kms-errors';
import { nodeTransport, type ResponseHeaders, type Transport, type TransportResponse } from './node-transport';

/** A JSON API call to IAM or KMS, before authentication. */
export interface OtcRequest {
  readonly service: 'iam' | 'kms';
  /** For messages and counting: `sign`, `create-key`, `auth/tokens`. */
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  /** JSON body (serialized once, so that every attempt sends and signs the same bytes). */
  readonly body?: unknown;
  /** The project, for permission hints in errors. */
  readonly projectId?: string;
}

/** What an authorizer sees: the request about to be sent. */
export interface PreparedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Adds authentication to each attempt (an AK/SK signature, or an IAM token). */
export interface RequestAuthorizer {
  /** The headers to send for this attempt, including the request's own. */
  authorize(request: PreparedRequest): Promise<Record<string, string>>;
  /**
   * Called once per call when the service says the credential expired or is invalid (HTTP 401, or a
   * KMS token error). Returns true when a fresh credential is worth one more attempt.
   */
  renew?(): Promise<boolean>;
}

export interface OtcResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: unknown;
  /** X-Request-Id of the answer, when the service sent one. */
  readonly requestId?: string;
}

/** Reported before each retry, so that a slow ceremony says why it is slow. */
export interface RetryNotice {
  readonly service: 'iam' | 'kms';
  readonly operation: string;
  /** `HTTP 429`, `HTTP 503`, `timeout after 30 s`, `ECONNRESET`, `token expired`. */
  readonly reason: string;
  /** The attempt that failed (1-based) and the most that will be made. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
}

export interface HttpClientOptions {
  /** Per-attempt timeout in milliseconds (connect, send, answer). @default 30000 */
  readonly timeoutMs?: number;
  /** Retries after 429, 5xx, a timeout or a dropped connection. @default 5 */
  readonly maxRetries?: number;
  /** First backoff ceiling; doubled per retry, with full jitter. @default 500 */
  readonly initialBackoffMs?: number;
  /** Largest backoff (also caps Retry-After). @default 20000 */
  readonly maxBackoffMs?: number;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1): the jitter. @default Math.random */
  readonly random?: () => number;
  /**
   * Sends one attempt. `fetch` fits it too (tests pass fakes).
   * @default nodeTransport: node:http(s), without fetch's ~85 ms of undici start-up (lib/otc/node-transport.ts)
   */
  readonly transport?: Transport;
  /**
   * Removes credentials from text that came from a server, before it goes into an error.
   * @default - redactServerText: every secret the process registered, and credential header values
   */
  readonly redact?: (text: string) => string;
  readonly onRetry?: (notice: RetryNotice) => void;
}

const DEFAULTS = { timeoutMs: 30_000, maxRetries: 5, initialBackoffMs: 500, maxBackoffMs: 20_000 };

/** Network errors that retrying cannot fix: a wrong host name, a certificate that does not verify. */
const PERMANENT_NETWORK_ERRORS = /^(ENOTFOUND|EAI_NONAME|ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_.*)$/;

/** Server text kept for redaction (a longer body is cut first; a secret cut there is still found by its start). */
const MAX_SERVER_TEXT = 65_536;
/** Server text kept in an error message, after redaction. */
const MAX_MESSAGE = 300;

/**
 * Sends JSON requests to OTC APIs: a timeout per attempt, retries with exponential backoff and full
 * jitter on 429, 5xx, timeouts and dropped connections (honouring Retry-After), one renewal of an
 * expired credential, and failures mapped to OtcErrors. A redirect is never followed (it would carry
 * the signature, token or password to another host) nor retried: it fails at once as a wrong
 * endpoint. Never logs; never puts a credential in an error (all server text goes through `redact`
 * before it is shortened or used).
 */
export class OtcHttpClient {
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly transport: Transport;
  private readonly redact: (text: string) => string;
  private readonly onRetry?: (notice: RetryNotice) => void;

  constructor(options: HttpClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.maxRetries = options.maxRetries ?? DEFAULTS.maxRetries;
    this.initialBackoffMs = options.initialBackoffMs ?? DEFAULTS.initialBackoffMs;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.transport = options.transport ?? nodeTransport;
    this.redact = options.redact ?? redactServerText;
    this.onRetry = options.onRetry;
  }

  async send(request: OtcRequest, authorizer?: RequestAuthorizer): Promise<OtcResponse> {
    const body = request.body === undefined ? '' : JSON.stringify(request.body);
    const baseHeaders: Record<string, string> = { 'Content-Type': 'application/json;charset=UTF-8' };
    const maxAttempts = this.maxRetries + 1;
    let renewed = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      const prepared: PreparedRequest = { method: request.method, url: request.url, headers: baseHeaders, body };
      const headers = authorizer ? await authorizer.authorize(prepared) : baseHeaders;
      let response: TransportResponse;
      let text: string;
      try {
        response = await this.transport(request.url, {
          method: request.method,
          headers,
          body: request.method === 'GET' ? undefined : body,
          signal: AbortSignal.timeout(this.timeoutMs),
          // Not followed: the redirect is reported below, and no credential goes to the other host.
          redirect: 'manual',
        });
        text = await response.text();
      } catch (error) {
        const failure = describeNetworkError(error, this.timeoutMs);
        if (attempt < maxAttempts && !failure.permanent) {
          await this.backoff(request, failure.reason, attempt, maxAttempts);
          continue;
        }
        throw new OtcError(
          failure.timeout ? 'OTC_TIMEOUT' : 'OTC_UNREACHABLE',
          `${request.service.toUpperCase()} ${request.operation} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ` +
            `${this.redact(failure.reason)} (${request.url.origin}). ` +
            (failure.timeout
              ? `Check the network path to ${request.url.host}, or raise otc.requests.timeoutSeconds`
              : `Check otc.endpoints.${request.service}, DNS, proxy and firewall settings for ${request.url.host}`),
          { operation: `${request.service} ${request.operation}` },
          { cause: error },
        );
      }
      const rawRequestId = response.headers.get('x-request-id') ?? response.headers.get('x-openstack-request-id') ?? undefined;
      const requestId = rawRequestId === undefined ? undefined : this.redact(rawRequestId).slice(0, 100);
      if (response.ok) {
        return { status: response.status, headers: response.headers, body: parseJson(text, request, response.status, requestId), requestId };
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        throw redirectErrorFor({
          service: request.service,
          operation: request.operation,
          endpoint: request.url.origin,
          httpStatus: response.status,
          location: location === null ? undefined : this.redact(redactUrl(location, request.url)),
          requestId,
        });
      }
      const serviceError = parseServiceError(text.slice(0, MAX_SERVER_TEXT));
      const tokenRejected = response.status === 401 || (serviceError.code !== undefined && TOKEN_REJECTED_CODES.has(serviceError.code));
      if (tokenRejected && authorizer?.renew && !renewed && request.service === 'kms') {
        renewed = true;
        if (await authorizer.renew()) {
          this.onRetry?.({ service: request.service, operation: request.operation, reason: 'credential expired, renewed', attempt, maxAttempts, delayMs: 0 });
          attempt--; // a renewal is not one of the retries
          continue;
        }
      }
      if (isRetryableStatus(response.status) && attempt < maxAttempts) {
        await this.backoff(request, `HTTP ${response.status}`, attempt, maxAttempts, retryAfterMs(response.headers.get('retry-after')));
        continue;
      }
      throw otcErrorFor({
        service: request.service,
        operation: request.operation,
        endpoint: request.url.origin,
        httpStatus: response.status,
        serviceCode: serviceError.code === undefined ? undefined : this.redact(serviceError.code).slice(0, 40),
        serviceMessage: serviceError.message === undefined ? undefined : this.redact(serviceError.message).slice(0, MAX_MESSAGE),
        requestId,
        attempts: attempt,
        projectId: request.projectId,
        renewed,
      });
    }
  }

  /** Full jitter: a uniform delay up to min(max, initial × 2^(attempt-1)), but at least Retry-After. */
  private async backoff(request: OtcRequest, reason: string, attempt: number, maxAttempts: number, retryAfter?: number): Promise<void> {
    const ceiling = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
    const jittered = Math.floor(this.random() * ceiling);
    const delayMs = Math.min(this.maxBackoffMs, Math.max(jittered, retryAfter ?? 0));
    this.onRetry?.({ service: request.service, operation: request.operation, reason, attempt, maxAttempts, delayMs });
    await this.sleep(delayMs);
  }
}

function parseJson(text: string, request: OtcRequest, status: number, requestId?: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new OtcError(
      'OTC_RESPONSE_INVALID',
      `${request.service.toUpperCase()} ${request.operation} answered HTTP ${status} with a body that is not JSON` +
        `${requestId ? ` (request id ${requestId})` : ''}; is otc.endpoints.${request.service} (${request.url.origin}) really the ${request.service.toUpperCase()} endpoint?`,
      { operation: `${request.service} ${request.operation}`, httpStatus: status, requestId },
    );
  }
}

/**
 * The error of a failed call, in the shapes OTC uses: KMS `{"error":{"error_code","error_msg"}}`, API
 * Gateway `{"error_code","error_msg"}` and Keystone (IAM) `{"error":{"code","message","title"}}`;
 * any other body is the message, whole (callers redact it, then shorten it).
 */
export function parseServiceError(text: string): { code?: string; message?: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return text.trim() ? { message: text.trim() } : {};
  }
  const record = (value: unknown) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined);
  const top = record(data);
  const inner = record(top?.error) ?? top;
  const code = inner?.error_code ?? inner?.code;
  const message = inner?.error_msg ?? inner?.message;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describeNetworkError(error: unknown, timeoutMs: number): { reason: string; timeout: boolean; permanent: boolean } {
  const name = (error as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { reason: `no answer within ${timeoutMs / 1000} s`, timeout: true, permanent: false };
  }
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (error as { code?: string })?.code;
  const reason = code ?? cause?.message ?? (error as Error)?.message ?? String(error);
  return { reason, timeout: false, permanent: typeof code === 'string' && PERMANENT_NETWORK_ERRORS.test(code) };
}
