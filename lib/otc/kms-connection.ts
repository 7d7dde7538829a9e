import type { SigstoreConfig } from '../config/schema';
import { ConfigError } from '../errors';
import type { OtcRegion } from './endpoints';
import type { OtcCredentials } from './credentials';
import type { HttpClientOptions, RetryNotice } from './http-client';
import type { KmsClient } from './kms-client';

/*
 * The OTC client stack (HTTP client, AK/SK and IAM token signing, the KMS client and its response
 * schemas) is loaded by connectKms, on the first connection: a command with the local signer never
 * evaluates it (issue 14: the KMS client only for otc-kms).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const otcClientStack = () => ({
  ...(require('./aksk-signer') as typeof import('./aksk-signer')),
  ...(require('./credentials') as typeof import('./credentials')),
  ...(require('./endpoints') as typeof import('./endpoints')),
  ...(require('./http-client') as typeof import('./http-client')),
  ...(require('./iam-token') as typeof import('./iam-token')),
  ...(require('./kms-client') as typeof import('./kms-client')),
});
/* eslint-enable @typescript-eslint/no-require-imports */

export type OtcConfig = NonNullable<SigstoreConfig['otc']>;

/** What tests, the bench and the CLI may inject; everything else comes from the config. */
export interface KmsConnectionOptions {
  /** Where credentials and OS_PROJECT_ID are read. @default process.env */
  readonly environment?: NodeJS.ProcessEnv;
  /** Used for X-Sdk-Date and token expiry. @default - the system clock */
  readonly clock?: () => Date;
  /** Transport details (sleep, random, transport, backoff); timeouts and retries come from `otc.requests`. */
  readonly http?: Omit<HttpClientOptions, 'timeoutMs' | 'maxRetries' | 'redact' | 'onRetry'>;
  readonly onRetry?: (notice: RetryNotice) => void;
}

/** A KMS client for one environment, and what it connects with (for messages; never a credential). */
export interface KmsConnection {
  readonly kms: KmsClient;
  readonly region: OtcRegion;
  readonly projectId: string;
  readonly endpoints: { readonly iam: string; readonly kms: string };
  /** `AK/SK from OS_ACCESS_KEY`, `IAM user alice (domain …)`. */
  readonly credentials: string;
}

/** The `otc` section of the environment, or a ConfigError saying it is needed. */
export function otcConfigOf(config: SigstoreConfig, purpose: string): OtcConfig {
  if (!config.otc) {
    throw new ConfigError(
      'CONFIG_OTC_MISSING',
      `environment "${config.env}" has no "otc" section, which ${purpose} needs: add otc.region and otc.kms ` +
        '(fulcioRootKeyAlias, tsaRootKeyAlias), see envs/prd.example.yaml',
    );
  }
  return config.otc;
}

/**
 * Connects to KMS as the environment says: credentials from the environment variables only (fails
 * with OTC_CREDENTIALS_MISSING before any request), the project from `otc.projectId` or
 * OS_PROJECT_ID, the endpoints from `otc.endpoints` or the region's defaults.
 */
export function connectKms(otc: OtcConfig, options: KmsConnectionOptions = {}): KmsConnection {
  const { AccessKeyAuthorizer, credentialsFromEnvironment, defaultIamEndpoint, defaultKmsEndpoint, describeCredentials, IamTokenAuthorizer, KmsClient, OtcHttpClient, resolveProjectId } = otcClientStack();
  const environment = options.environment ?? process.env;
  const credentials: OtcCredentials = credentialsFromEnvironment(environment);
  const projectId = resolveProjectId(otc.projectId, environment);
  // Public endpoints of the region unless `otc.endpoints` names private ones.
  const endpoints = { iam: otc.endpoints.iam ?? defaultIamEndpoint(otc.region), kms: otc.endpoints.kms ?? defaultKmsEndpoint(otc.region) };
  // The credentials registered themselves with the secret registry, which the client's redaction uses.
  const http = new OtcHttpClient({
    ...options.http,
    timeoutMs: otc.requests.timeoutSeconds * 1000,
    maxRetries: otc.requests.maxRetries,
    onRetry: options.onRetry,
  });
  const authorizer =
    credentials.kind === 'access-key'
      ? new AccessKeyAuthorizer(credentials, projectId, options.clock)
      : new IamTokenAuthorizer({ http, iamEndpoint: endpoints.iam, credentials, projectId, clock: options.clock });
  return {
    kms: new KmsClient({ http, endpoint: endpoints.kms, projectId, authorizer }),
    region: otc.region,
    projectId,
    endpoints,
    credentials: describeCredentials(credentials),
  };
}
