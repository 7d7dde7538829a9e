import { OtcError, type OtcErrorCode } from '../errors';

/**
 * Turns a failed IAM or KMS call into an OtcError an operator can act on: which call, what the service
 * said (its code and message), and what to do about it. KMS error codes are from the OTC KMS API
 * reference ("Error Code" appendix); the hints are ours.
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
}

interface KnownCode {
  readonly code: OtcErrorCode;
  readonly hint: string;
}

const ENABLE_OR_NEW_ALIAS = 'enable the key in the console (DEW > KMS) or use a new alias';
const GRANT_PERMISSION =
  'grant the ceremony identity the KMS permissions it needs in this project (the "KMS Administrator" role, or a custom role with ' +
  'kms:cmk:create, kms:cmk:list, kms:cmk:get, and sign/get-publickey)';

/** KMS error codes we can say something useful about. */
const KMS_CODES: Readonly<Record<string, KnownCode>> = {
  'KMS.0201': { code: 'KMS_REQUEST_REJECTED', hint: 'the request URL is wrong: check otc.endpoints.kms and otc.projectId' },
  'KMS.0202': { code: 'KMS_REQUEST_REJECTED', hint: 'KMS could not parse the request; this is a bug in sigstore-cdk, please report it' },
  'KMS.0204': { code: 'KMS_REQUEST_REJECTED', hint: 'a required parameter is missing; this is a bug in sigstore-cdk, please report it' },
  'KMS.0205': { code: 'KMS_KEY_NOT_FOUND', hint: 'the key id is not a KMS key id' },
  'KMS.0207': { code: 'KMS_KEY_NOT_FOUND', hint: 'no such key in this project: check otc.projectId and the region, or run "sigstore-cdk keys ensure"' },
  'KMS.0209': { code: 'KMS_KEY_UNUSABLE', hint: `the key is disabled: ${ENABLE_OR_NEW_ALIAS}` },
  'KMS.0210': {
    code: 'KMS_KEY_UNUSABLE',
    hint: 'the key is scheduled for deletion: cancel the deletion in the console (DEW > KMS > Cancel Deletion), or rotate to a new alias',
  },
  'KMS.0308': { code: 'KMS_REQUEST_REJECTED', hint: 'KMS rejected a parameter; this is a bug in sigstore-cdk, please report it' },
  'KMS.0320': { code: 'OTC_PERMISSION_DENIED', hint: 'the KMS resource is frozen: renew the service in the OTC console' },
  'KMS.0328': { code: 'OTC_PERMISSION_DENIED', hint: 'KMS is frozen for this account: renew it in the OTC console' },
  'KMS.0329': {
    code: 'KMS_REQUEST_REJECTED',
    hint: 'the digest length does not match the signing algorithm (SHA-256: 32 bytes, SHA-384: 48 bytes); this is a bug in sigstore-cdk',
  },
  'KMS.0331': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is symmetric; root keys must be EC_P256 or EC_P384 with usage SIGN_VERIFY' },
  'KMS.0332': { code: 'KMS_KEY_UNUSABLE', hint: 'the key does not support this signing algorithm: its key spec does not match otc.kms.keySpec' },
  'KMS.0334': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is an ENCRYPT_DECRYPT key; root keys need usage SIGN_VERIFY: create a new key under a new alias' },
  'KMS.0335': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is a SIGN_VERIFY key used for encryption' },
  'KMS.1101': { code: 'KMS_REQUEST_REJECTED', hint: 'the alias is not valid: 1-255 letters, digits, ":", "/", "_" or "-", not ending in "/default"' },
  'KMS.1104': {
    code: 'KMS_ALIAS_TAKEN',
    hint: 'another key already has this alias, possibly one pending deletion (it keeps its alias until deleted): choose a new alias, e.g. with the next generation number',
  },
  'KMS.1105': {
    code: 'KMS_QUOTA_EXCEEDED',
    hint: 'the project has no key quota left (keys pending deletion count too): delete keys you do not need or ask for a higher quota',
  },
  'KMS.1115': { code: 'KMS_KEY_UNUSABLE', hint: 'the key is symmetric and cannot sign; root keys must be EC_P256 or EC_P384 with usage SIGN_VERIFY' },
  'KMS.1301': { code: 'KMS_KEY_UNUSABLE', hint: `the key is not enabled: ${ENABLE_OR_NEW_ALIAS}` },
  'KMS.0301': { code: 'OTC_AUTH_FAILED', hint: 'the token is missing or invalid' },
  'KMS.0302': { code: 'OTC_AUTH_FAILED', hint: 'the token is invalid' },
  'KMS.0303': { code: 'OTC_AUTH_FAILED', hint: 'the token expired and a fresh one was refused too' },
  'KMS.0305': { code: 'OTC_AUTH_FAILED', hint: 'the token is scoped to another project: check otc.projectId / OS_PROJECT_ID' },
  'KMS.0321': { code: 'OTC_AUTH_FAILED', hint: 'the token is scoped to another project than the one in the URL: check otc.projectId / OS_PROJECT_ID' },
  'KMS.0306': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0307': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0326': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0327': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
  'KMS.0330': { code: 'OTC_PERMISSION_DENIED', hint: GRANT_PERMISSION },
};

/** KMS codes that mean "the token expired or is no longer valid": worth one retry with a fresh token. */
export const TOKEN_REJECTED_CODES: ReadonlySet<string> = new Set(['KMS.0301', 'KMS.0302', 'KMS.0303']);

/** HTTP statuses retried with backoff. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

export function otcErrorFor(call: FailedCall): OtcError {
  const { code, hint } = classify(call);
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
