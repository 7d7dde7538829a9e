import { OtcError, type OtcErrorCode } from '../errors';

/**
 * Turns a failed IAM or KMS call into an OtcError an operator can act on: which call, what the service
 * said (its code and message), and what to do about it.
 *
 * The KMS codes and their meanings are the OTC DEW KMS API reference, appendix "Error Code"
 * (https://docs.otc.t-systems.com/key-management-service/api-ref/appendix/error_code.html, source
 * opentelekomcloud-docs/key-management-service api-ref/source/appendix/error_code.rst as of
 * 2025-12-09; the Swiss cloud's copy says the same for these codes). The actions are ours, following
 * the reference's "Measure" column. Notably: KMS.0210 is a key *pending deletion* (cancelling the
 * deletion leaves it disabled, so it must then be enabled), KMS.1301 a key that is *not enabled*,
 * KMS.0303 an *expired* X-Auth-Token, and KMS.0305 / KMS.0321 a token for *another project*.
 */

/** What a failed call looked like. */
export interface FailedCall {
  readonly service: 'iam' | 'kms';
  /** e.g. `sign`, `create-key`, `auth/tokens`. */
  readonly operation: string;
  readonly endpoint: string;
  readonly httpStatus: number;
  /** `KMS.0329`, `APIGW.0301`, … when the body had one. */
  readonly serviceCode?: string;
  /** The service's message, already redacted. */
  readonly serviceMessage?: string;
  readonly requestId?: string;
  /** How many attempts were made (more than one when retries ran out). */
  readonly attempts: number;
  /** The project the call was for, for permission hints. */
  readonly projectId?: string;
  /** True when the credential was renewed for this call (a fresh IAM token) and refused again. @default false */
  readonly renewed?: boolean;
}

interface KnownCode {
  readonly code: OtcErrorCode;
  /** What to do; a function when it depends on the call. */
  readonly hint: string | ((call: FailedCall) => string);
}

const BUG = 'this is a bug in sigstore-cdk, please report it';
/** What the ceremony identity needs in KMS (the README's prerequisites name the same). */
export const GRANT_PERMISSION =
  'grant the ceremony identity the KMS permissions it needs in this project (the "KMS CMKFullAccess" policy or the "KMS Administrator" ' +
  'role, or a custom policy with kms:cmk:create, kms:cmk:list, kms:cmk:get, the sign and get-publickey actions, and kms:dek:create and ' +
  'kms:dek:crypto on the state key (otc.kms.stateKeyAlias) for the state\'s data key)';
const DATA_KEY_REFUSED =
  'KMS will not decrypt the state\'s data key with this key: otc.kms.stateKeyAlias must name the key the state was sealed with ' +
  '(kms/data-key.json names its id), in this project; if it does, the cipher text was changed: restore the state from its backup';
const TOKEN_REFUSED = (call: FailedCall) =>
  call.renewed
    ? 'KMS refused the IAM token (X-Auth-Token) as invalid, even a freshly issued one: check that otc.endpoints.iam is the IAM of the cloud and region of otc.endpoints.kms'
    : 'KMS refused the IAM token (X-Auth-Token) as invalid: run again (a new token is fetched); if it persists, check that otc.endpoints.iam is the IAM of the cloud and region of otc.endpoints.kms';

/** KMS error codes we can say something useful about (see the module comment for the source). */
const KMS_CODES: Readonly<Record<string, KnownCode>> = {
  // 400, request errors: the URL is configuration, the rest is ours.
  'KMS.0201': { code: 'KMS_REQUEST_REJECTED', hint: 'the request URL is wrong: check otc.endpoints.kms and otc.projectId' },
  'KMS.0202': { code: 'KMS_REQUEST_REJECTED', hint: `KMS could not parse the request as JSON; ${BUG}` },
  'KMS.0203': { code: 'KMS_REQUEST_REJECTED', hint: `the request message is longer than KMS accepts; ${BUG}` },
  'KMS.0204': { code: 'KMS_REQUEST_REJECTED', hint: `a required parameter is missing; ${BUG}` },
  'KMS.0205': { code: 'KMS_KEY_NOT_FOUND', hint: 'the key id is not a KMS key id (36 characters, UUID-shaped): check the key id KMS listed for the alias' },
  'KMS.0206': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the request's sequence number; ${BUG}` },
  'KMS.0215': { code: 'KMS_REQUEST_REJECTED', hint: `KMS does not support the request method; ${BUG}` },
  'KMS.0308': { code: 'KMS_REQUEST_REJECTED', hint: `KMS rejected a parameter; ${BUG}` },
  'KMS.0329': {
    code: 'KMS_REQUEST_REJECTED',
    hint: `the digest length does not match the signing algorithm (SHA-256: 32 bytes, SHA-384: 48 bytes); ${BUG}`,
  },
  'KMS.1101': { code: 'KMS_REQUEST_REJECTED', hint: 'the alias is not valid: 1-255 letters, digits, ":", "/", "_" or "-", not ending in "/default"' },
  'KMS.1103': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the key description (at most 255 characters); ${BUG}` },
  // 400/404, the key: missing, in the wrong state, or of the wrong kind.
  'KMS.0207': { code: 'KMS_KEY_NOT_FOUND', hint: 'no such key in this project: check otc.projectId and the region, or run "sigstore-cdk keys ensure"' },
  'KMS.0209': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is disabled: enable it in the console (DEW > KMS > Enable) and run again' },
  'KMS.0210': {
    code: 'KMS_KEY_UNUSABLE',
    hint:
      'the key is pending deletion: cancel the scheduled deletion in the console (DEW > KMS > Cancel Deletion) before it runs out, ' +
      'which leaves the key disabled, then enable it and run again; once deleted, the key and every root it signs are gone for good',
  },
  'KMS.1301': {
    code: 'KMS_KEY_UNUSABLE',
    hint: 'the key is not enabled (disabled, waiting for activation or for key material): enable it in the console (DEW > KMS > Enable) and run again',
  },
  'KMS.0211': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is a default master key, which cannot sign: create a custom key with "sigstore-cdk keys ensure"' },
  'KMS.0331': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is symmetric; root keys must be EC_P256 or EC_P384 with usage SIGN_VERIFY' },
  'KMS.0332': { code: 'KMS_KEY_UNUSABLE', hint: 'the key does not support this signing algorithm: its key spec does not match otc.kms.keySpec' },
  'KMS.0334': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is an ENCRYPT_DECRYPT key; root keys need usage SIGN_VERIFY: create a new key under a new alias' },
  'KMS.0335': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is a SIGN_VERIFY key used for encryption' },
  'KMS.1115': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is symmetric and cannot sign; root keys must be EC_P256 or EC_P384 with usage SIGN_VERIFY' },
  'KMS.1114': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is an EC key, which cannot encrypt: the state key (otc.kms.stateKeyAlias) must be an AES_256 ENCRYPT_DECRYPT key' },
  // 400, data keys (the state's password envelope; API reference "Creating a DEK" / "Decrypting a DEK").
  'KMS.0208': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the encryption_context; ${BUG}` },
  'KMS.1901': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the data key length; ${BUG}` },
  'KMS.1903': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the data key length; ${BUG}` },
  'KMS.2001': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused the data key length (it creates 512-bit data keys only); ${BUG}` },
  'KMS.2202': { code: 'KMS_REQUEST_REJECTED', hint: `KMS refused datakey_cipher_length (it must be 64); ${BUG}` },
  'KMS.2201': { code: 'KMS_DATA_KEY_REFUSED', hint: DATA_KEY_REFUSED },
  'KMS.2203': { code: 'KMS_DATA_KEY_REFUSED', hint: DATA_KEY_REFUSED },
  'KMS.2204': { code: 'KMS_DATA_KEY_REFUSED', hint: DATA_KEY_REFUSED },
  'KMS.1104': {
    code: 'KMS_ALIAS_TAKEN',
    hint: 'another key already has this alias, possibly one pending deletion (it keeps its alias until deleted): choose a new alias, e.g. with the next generation number',
  },
  'KMS.1105': {
    code: 'KMS_QUOTA_EXCEEDED',
    hint: 'the project has no key quota left (keys pending deletion count too): delete keys you do not need or ask for a higher quota',
  },
  // 403, the token.
  'KMS.0301': { code: 'OTC_AUTH_FAILED', hint: TOKEN_REFUSED },
  'KMS.0302': { code: 'OTC_AUTH_FAILED', hint: TOKEN_REFUSED },
  'KMS.0303': {
    code: 'OTC_AUTH_FAILED',
    hint: (call) =>
      call.renewed
        ? 'a freshly issued token was refused as expired too: check that otc.endpoints.iam is the IAM of the cloud and region of otc.endpoints.kms, then run again'
        : 'the credential expired: run again for a new IAM token; with temporary AK/SK, get a new OS_ACCESS_KEY, OS_SECRET_KEY and OS_SECURITY_TOKEN',
  },
  'KMS.0304': {
    code: 'OTC_AUTH_FAILED',
    hint: 'the token carries the OBT (open beta test) tag, which KMS does not accept: use the token of a regular IAM user (OS_USERNAME/OS_PASSWORD) or AK/SK',
  },
  'KMS.0305': { code: 'OTC_AUTH_FAILED', hint: 'the credential is for another project: check otc.projectId / OS_PROJECT_ID' },
  'KMS.0321': { code: 'OTC_AUTH_FAILED', hint: 'the token is for another project than the one in the request URL: check otc.projectId / OS_PROJECT_ID' },
  // 400/403, permissions and the account.
  'KMS.0306': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0307': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0326': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0327': { code: 'OTC_PERMISSION_DENIED', hint: `KMS could not read the identity's permissions: ${GRANT_PERMISSION}` },
  'KMS.0330': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0314': { code: 'OTC_PERMISSION_DENIED', hint: 'the account must complete real-name authentication in the OTC console before it may use KMS' },
  'KMS.0320': { code: 'OTC_PERMISSION_DENIED', hint: 'the KMS resource is frozen: renew the service in the OTC console' },
  'KMS.0328': { code: 'OTC_PERMISSION_DENIED', hint: 'KMS is frozen for this account: renew it in the OTC console' },
};

/** KMS codes that mean "the token expired or is no longer valid": worth one retry with a fresh token. */
export const TOKEN_REJECTED_CODES: ReadonlySet<string> = new Set(['KMS.0301', 'KMS.0302', 'KMS.0303']);

/** HTTP statuses retried with backoff. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

export function otcErrorFor(call: FailedCall): OtcError {
  const known = classify(call);
  const code = known.code;
  const hint = typeof known.hint === 'function' ? known.hint(call) : known.hint;
  const said = [call.serviceCode, call.serviceMessage].filter(Boolean).join(' ');
  const retried = call.attempts > 1 ? ` after ${call.attempts} attempts` : '';
  const message =
    `${call.service.toUpperCase()} ${call.operation} failed${retried}: HTTP ${call.httpStatus}${said ? ` ${said}` : ''}` +
    `${call.requestId ? ` (request id ${call.requestId})` : ''}. ${hint}`;
  return new OtcError(code, message, {
    operation: `${call.service} ${call.operation}`,
    httpStatus: call.httpStatus,
    serviceCode: call.serviceCode,
    requestId: call.requestId,
  });
}

function classify(call: FailedCall): KnownCode {
  const known = call.serviceCode ? KMS_CODES[call.serviceCode] : undefined;
  if (known && call.service === 'kms') return known;
  if (call.httpStatus === 429) {
    return { code: 'OTC_THROTTLED', hint: 'OTC throttled every attempt: wait a minute, then run the command again' };
  }
  if (call.httpStatus >= 500) {
    return {
      code: 'OTC_UNAVAILABLE',
      hint: `${call.endpoint} kept failing: check the OTC status page, then run the command again`,
    };
  }
  if (call.service === 'iam' && (call.httpStatus === 401 || call.httpStatus === 400)) {
    return {
      code: 'OTC_AUTH_FAILED',
      hint: 'IAM refused the user: check OS_USERNAME, OS_PASSWORD and OS_USER_DOMAIN_NAME, and that the user may log in to the project (no MFA for API users)',
    };
  }
  if (call.service === 'iam' && call.httpStatus === 404) {
    return { code: 'OTC_AUTH_FAILED', hint: `IAM does not know the project: check otc.projectId / OS_PROJECT_ID and otc.endpoints.iam (${call.endpoint})` };
  }
  if (call.httpStatus === 401 || call.serviceCode?.startsWith('APIGW.03')) {
    return {
      code: 'OTC_AUTH_FAILED',
      hint:
        'the request was not authenticated: check OS_ACCESS_KEY and OS_SECRET_KEY (or the IAM user), and this machine\'s clock ' +
        '(AK/SK signatures are refused when the clock is off by more than 15 minutes)',
    };
  }
  if (call.httpStatus === 403) return { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION };
  if (call.httpStatus === 404) {
    return { code: 'KMS_KEY_NOT_FOUND', hint: `not found: check otc.endpoints.${call.service} (${call.endpoint}) and otc.projectId` };
  }
  return { code: 'KMS_REQUEST_REJECTED', hint: 'the service rejected the request' };
}

/** A redirect (3xx) from IAM or KMS, as the client saw it; nothing in it may carry a credential. */
export interface RedirectedCall {
  readonly service: 'iam' | 'kms';
  readonly operation: string;
  readonly endpoint: string;
  readonly httpStatus: number;
  /** The Location, absolute and redacted; undefined when the answer had none. */
  readonly location?: string;
  readonly requestId?: string;
}

/**
 * A redirect means the configured (or default) endpoint is not the API itself: a moved endpoint, a
 * proxy's login page. It is a configuration error, reported at once and never followed, because the
 * request's AK/SK signature, token or password would go to the other host.
 */
export function redirectErrorFor(call: RedirectedCall): OtcError {
  const where = call.location === undefined ? 'a redirect without a Location' : `a redirect to ${call.location}`;
  return new OtcError(
    'OTC_ENDPOINT_REDIRECTED',
    `${call.service.toUpperCase()} ${call.operation}: ${call.endpoint} answered HTTP ${call.httpStatus}, ${where}` +
      `${call.requestId ? ` (request id ${call.requestId})` : ''}. otc.endpoints.${call.service} must be the ${call.service.toUpperCase()} ` +
      `API endpoint itself: set it to the right endpoint (the redirect was not followed, so no credential was sent to another host)`,
    { operation: `${call.service} ${call.operation}`, httpStatus: call.httpStatus, requestId: call.requestId },
  );
}
