import { OtcError } from '../errors';
import { redactServerText } from '../redaction';
import { SecretValue, type PasswordCredentials } from './credentials';
import type { OtcHttpClient, PreparedRequest, RequestAuthorizer } from './http-client';

export interface IamTokenAuthorizerProps {
  readonly http: OtcHttpClient;
  /** IAM base URL, e.g. `https://iam.eu-de.otc.t-systems.com`. */
  readonly iamEndpoint: string;
  readonly credentials: PasswordCredentials;
  /** The token is scoped to this project (KMS is a project-level service). */
  readonly projectId: string;
  /** @default - the system clock */
  readonly clock?: () => Date;
  /** A token is renewed this long before it expires. @default 5 minutes */
  readonly refreshMarginMs?: number;
}

/**
 * IAM token authentication: exchanges the user's password for a project-scoped token
 * (`POST /v3/auth/tokens`, the token comes back in X-Subject-Token), caches it until shortly before
 * `expires_at`, and fetches a new one when KMS says it expired. Sends it as X-Auth-Token. Each token
 * is registered with the secret registry the moment it arrives, before anything else reads it.
 */
export class IamTokenAuthorizer implements RequestAuthorizer {
  private readonly clock: () => Date;
  private readonly refreshMarginMs: number;
  private cached?: { readonly token: SecretValue; readonly expiresAt: Date };
  private pending?: Promise<SecretValue>;

  constructor(private readonly props: IamTokenAuthorizerProps) {
    this.clock = props.clock ?? (() => new Date());
    this.refreshMarginMs = props.refreshMarginMs ?? 5 * 60_000;
  }

  async authorize(request: PreparedRequest): Promise<Record<string, string>> {
    return { ...request.headers, 'X-Auth-Token': (await this.token()).reveal() };
  }

  async renew(): Promise<boolean> {
    this.cached = undefined;
    return true;
  }

  private async token(): Promise<SecretValue> {
    if (this.cached && this.clock().getTime() < this.cached.expiresAt.getTime() - this.refreshMarginMs) return this.cached.token;
    this.pending ??= this.issue().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async issue(): Promise<SecretValue> {
    const { credentials, projectId } = this.props;
    const url = new URL('/v3/auth/tokens', this.props.iamEndpoint);
    const response = await this.props.http.send({
      service: 'iam',
      operation: 'auth/tokens',
      method: 'POST',
      url,
      projectId,
      body: {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: credentials.username, password: credentials.password.reveal(), domain: { name: credentials.domainName } } },
          },
          scope: { project: { id: projectId } },
        },
      },
    });
    const subjectToken = response.headers.get('x-subject-token');
    const token = subjectToken ? new SecretValue(subjectToken) : undefined; // registered for redaction from here on
    const body = response.body as { token?: { expires_at?: unknown; project?: { id?: unknown } } };
    const expiresAt = typeof body?.token?.expires_at === 'string' ? new Date(body.token.expires_at) : undefined;
    if (!token || !expiresAt || Number.isNaN(expiresAt.getTime())) {
      throw new OtcError(
        'OTC_RESPONSE_INVALID',
        `IAM auth/tokens answered HTTP ${response.status} without ${token ? 'token.expires_at' : 'an X-Subject-Token header'}; ` +
          `is otc.endpoints.iam (${url.origin}) the IAM endpoint?`,
        { operation: 'iam auth/tokens', httpStatus: response.status, requestId: response.requestId },
      );
    }
    const scopedTo = body.token?.project?.id;
    if (scopedTo !== undefined && scopedTo !== projectId) {
      throw new OtcError(
        'OTC_AUTH_FAILED',
        `IAM issued a token for project ${redactServerText(String(scopedTo)).slice(0, 64)}, not ${projectId}; check otc.projectId / OS_PROJECT_ID`,
      );
    }
    this.cached = { token, expiresAt };
    return token;
  }
}
