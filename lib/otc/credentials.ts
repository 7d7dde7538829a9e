import { inspect } from 'node:util';
import { OtcError } from '../errors';
import { secretRegistry, type SecretRegistry } from '../redaction';

/**
 * A credential value. It prints as `[redacted]` everywhere (String(), JSON, util.inspect, template
 * strings), so that a credential passed to a log line or an error by mistake does not leak; the
 * value itself is only available through `reveal()`, which the request signers call. Creating one
 * registers the value with the process's secret registry, so that a server echoing it back is
 * redacted too.
 */
export class SecretValue {
  readonly #value: string;

  /** @param registry where the value is registered. @default - the process's registry */
  constructor(value: string, registry: SecretRegistry = secretRegistry) {
    this.#value = value;
    registry.register(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** Permanent or temporary access keys: each request is signed (SDK-HMAC-SHA256). */
export interface AccessKeyCredentials {
  readonly kind: 'access-key';
  /** The access key id (AK). Not secret, but not printed either. */
  readonly accessKey: SecretValue;
  readonly secretKey: SecretValue;
  /** For temporary AK/SK (OS_SECURITY_TOKEN), sent as X-Security-Token. */
  readonly securityToken?: SecretValue;
}

/** An IAM user's password: exchanged for a project-scoped token. */
export interface PasswordCredentials {
  readonly kind: 'password';
  readonly username: string;
  readonly password: SecretValue;
  /** The account (domain) name, e.g. `OTC-EU-DE-00000000001000000000`. */
  readonly domainName: string;
}

export type OtcCredentials = AccessKeyCredentials | PasswordCredentials;

const PROJECT_ID = /^[0-9a-f]{32}$/;

/**
 * Reads credentials from the usual OpenStack/OTC variables, and only from there: AK/SK
 * (`OS_ACCESS_KEY`, `OS_SECRET_KEY`, optional `OS_SECURITY_TOKEN`) first, then a password
 * (`OS_USERNAME`, `OS_PASSWORD`, and `OS_USER_DOMAIN_NAME` or `OS_DOMAIN_NAME`). Throws
 * OTC_CREDENTIALS_MISSING naming what is missing (never a value).
 */
export function credentialsFromEnvironment(environment: NodeJS.ProcessEnv = process.env): OtcCredentials {
  const value = (name: string) => {
    const text = environment[name];
    return text !== undefined && text.trim() !== '' ? text.trim() : undefined;
  };
  const accessKey = value('OS_ACCESS_KEY');
  const secretKey = value('OS_SECRET_KEY');
  if (accessKey && secretKey) {
    const securityToken = value('OS_SECURITY_TOKEN');
    return {
      kind: 'access-key',
      accessKey: new SecretValue(accessKey),
      secretKey: new SecretValue(secretKey),
      ...(securityToken ? { securityToken: new SecretValue(securityToken) } : {}),
    };
  }
  const username = value('OS_USERNAME');
  const password = value('OS_PASSWORD');
  const domainName = value('OS_USER_DOMAIN_NAME') ?? value('OS_DOMAIN_NAME');
  if (username && password && domainName) {
    return { kind: 'password', username, password: new SecretValue(password), domainName };
  }
  const found = [
    accessKey && 'OS_ACCESS_KEY',
    secretKey && 'OS_SECRET_KEY',
    username && 'OS_USERNAME',
    password && 'OS_PASSWORD',
    domainName && 'OS_USER_DOMAIN_NAME',
  ].filter(Boolean);
  throw new OtcError(
    'OTC_CREDENTIALS_MISSING',
    'no OTC credentials in the environment: set OS_ACCESS_KEY and OS_SECRET_KEY (an access key of the ceremony identity), ' +
      'or OS_USERNAME, OS_PASSWORD and OS_USER_DOMAIN_NAME (an IAM user); ' +
      (found.length ? `only ${found.join(', ')} ${found.length === 1 ? 'is' : 'are'} set` : 'none of them is set') +
      '. Credentials are read from the environment only, never from the environment file',
  );
}

/** The project id: `otc.projectId` from the environment file, else OS_PROJECT_ID. */
export function resolveProjectId(configured: string | undefined, environment: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  const fromEnvironment = environment.OS_PROJECT_ID?.trim();
  if (!fromEnvironment) {
    throw new OtcError(
      'OTC_PROJECT_MISSING',
      'no OTC project id: set otc.projectId in the environment file or OS_PROJECT_ID (32 lowercase hex digits, the id of the project that holds the KMS keys)',
    );
  }
  if (!PROJECT_ID.test(fromEnvironment)) {
    throw new OtcError(
      'OTC_PROJECT_MISSING',
      `OS_PROJECT_ID ${JSON.stringify(fromEnvironment)} is not a project id: expected 32 lowercase hex digits (the id, not the name such as "eu-de")`,
    );
  }
  return fromEnvironment;
}

/** A short, value-free description for progress lines: `AK/SK (OS_ACCESS_KEY)` or `IAM user alice`. */
export function describeCredentials(credentials: OtcCredentials): string {
  return credentials.kind === 'access-key'
    ? `AK/SK from OS_ACCESS_KEY${credentials.securityToken ? ' (temporary, OS_SECURITY_TOKEN)' : ''}`
    : `IAM user ${credentials.username} (domain ${credentials.domainName}) from OS_USERNAME/OS_PASSWORD`;
}
