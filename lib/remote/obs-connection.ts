import { S3Client } from '@aws-sdk/client-s3';
import type { SigstoreConfig } from '../config/schema';
import type { StateConfig } from '../config/state-schema';
import { ConfigError, OtcError } from '../errors';
import { SecretValue } from '../otc/credentials';
import { obsEndpoint } from '../otc/endpoints';

/** The `state` section of an environment whose state lives in OBS. */
export type ObsStateConfig = Extract<StateConfig, { backend: 'obs' }>;

/** Where an environment's remote state is, and how it is reached (never a credential). */
export interface ObsStateLocation {
  readonly env: string;
  readonly bucket: string;
  /** `<state.prefix>/<env>/`: every object of the environment's remote state is under it. */
  readonly prefix: string;
  readonly endpoint: string;
  /** The SSE-KMS key every object is written with. */
  readonly kmsKeyId: string;
  readonly lockTtlMs: number;
  /** `AK/SK from OS_ACCESS_KEY` or `AK/SK from AWS_ACCESS_KEY_ID`. */
  readonly credentials: string;
}

export interface ObsConnection {
  readonly s3: S3Client;
  readonly location: ObsStateLocation;
}

/** True when the environment keeps its state in OBS. */
export function usesObsState(config: SigstoreConfig): config is SigstoreConfig & { state: ObsStateConfig } {
  return config.state.backend === 'obs';
}

/**
 * Connects to the OBS bucket of the environment's state through OBS's S3-compatible API, with the
 * AK/SK from the environment only: `OS_ACCESS_KEY`/`OS_SECRET_KEY` (+ `OS_SECURITY_TOKEN`), the
 * variables of the KMS ceremony, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+
 * `AWS_SESSION_TOKEN`), those of the cdktf S3 backend. Each value is registered for redaction. OBS
 * has no password login on its S3 API, so an IAM user's password is not enough.
 */
export function connectObsState(config: SigstoreConfig, environment: NodeJS.ProcessEnv = process.env): ObsConnection {
  if (!usesObsState(config)) {
    throw new ConfigError('CONFIG_INVALID', `environment "${config.env}" keeps its state locally (state.backend is "local"): set state.backend to "obs" to use the remote state`);
  }
  if (!config.otc) throw new ConfigError('CONFIG_OTC_MISSING', `environment "${config.env}" has no "otc" section, which state.backend "obs" needs (otc.region)`);
  const bucket = config.state.bucket ?? config.cloud?.bootstrapBucket.name;
  if (!bucket) throw new ConfigError('CONFIG_INVALID', `environment "${config.env}": state.bucket is not set and there is no cloud.bootstrapBucket.name`);
  const credentials = accessKeysFromEnvironment(environment);
  const endpoint = config.otc.endpoints.obs ?? obsEndpoint(config.otc.region);
  // The SDK warns on every process under Node 20 that newer releases will need Node 22; this pinned one runs on 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = new S3Client({
    endpoint,
    region: config.otc.region,
    // A configured endpoint (private endpoint, loopback test server) takes the bucket in the path.
    forcePathStyle: config.otc.endpoints.obs !== undefined,
    credentials: {
      accessKeyId: credentials.accessKey.reveal(),
      secretAccessKey: credentials.secretKey.reveal(),
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken.reveal() } : {}),
    },
    // OBS implements the S3 API without the 2024 default integrity checksums (CRC32 trailers, aws-chunked
    // bodies): checksums only where an operation requires one. The SHA-256 of every object is checked by us.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
  });
  return {
    s3,
    location: {
      env: config.env,
      bucket,
      prefix: `${config.state.prefix}/${config.env}/`,
      endpoint,
      kmsKeyId: config.state.kmsKeyId,
      lockTtlMs: config.state.lockTtlSeconds * 1000,
      credentials: credentials.description,
    },
  };
}

interface AccessKeys {
  readonly accessKey: SecretValue;
  readonly secretKey: SecretValue;
  readonly sessionToken?: SecretValue;
  readonly description: string;
}

function accessKeysFromEnvironment(environment: NodeJS.ProcessEnv): AccessKeys {
  const value = (name: string) => {
    const text = environment[name];
    return text !== undefined && text.trim() !== '' ? text.trim() : undefined;
  };
  for (const [ak, sk, token] of [
    ['OS_ACCESS_KEY', 'OS_SECRET_KEY', 'OS_SECURITY_TOKEN'],
    ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
  ] as const) {
    const accessKey = value(ak);
    const secretKey = value(sk);
    if (accessKey && secretKey) {
      const sessionToken = value(token);
      return {
        accessKey: new SecretValue(accessKey),
        secretKey: new SecretValue(secretKey),
        ...(sessionToken ? { sessionToken: new SecretValue(sessionToken) } : {}),
        description: `AK/SK from ${ak}${sessionToken ? ` (temporary, ${token})` : ''}`,
      };
    }
  }
  throw new OtcError(
    'OTC_CREDENTIALS_MISSING',
    'no OBS credentials in the environment: the remote state (state.backend "obs") needs an access key: set OS_ACCESS_KEY and OS_SECRET_KEY ' +
      '(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Credentials are read from the environment only, never from the environment file',
  );
}
