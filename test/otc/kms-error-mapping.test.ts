import type { OtcErrorCode } from '../../lib/errors';
import { connectTo, startEmulator } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

/*
 * Every KMS error code the client names is reported with its documented meaning and what to do.
 * The codes, statuses and messages below are the OTC DEW KMS API reference, appendix "Error Code"
 * (opentelekomcloud-docs/key-management-service, api-ref/source/appendix/error_code.rst, kms_02_8887,
 * 2025-12-09; the Swiss cloud's copy, error_codes.rst, says the same for these codes). The emulator
 * answers with the code, the status and the documented message; the client adds the action.
 */
const DOCUMENTED: readonly (readonly [code: string, status: number, documented: string, mapsTo: OtcErrorCode, action: RegExp])[] = [
  ['KMS.0203', 400, 'Request message too long.', 'KMS_REQUEST_REJECTED', /bug in sigstore-cdk/],
  ['KMS.0206', 400, 'Invalid sequence number.', 'KMS_REQUEST_REJECTED', /bug in sigstore-cdk/],
  ['KMS.0209', 400, 'The key has been disabled.', 'KMS_KEY_UNUSABLE', /the key is disabled: enable (it|the key)/],
  [
    'KMS.0210',
    400,
    'The key is in Scheduled deletion state and cannot be used.',
    'KMS_KEY_UNUSABLE',
    /the key is pending deletion: cancel the scheduled deletion .*, which leaves the key disabled, then enable it/,
  ],
  ['KMS.0211', 400, 'Cannot perform this operation on Default Master Keys.', 'KMS_KEY_UNUSABLE', /default master key.*create a custom key/],
  ['KMS.0215', 400, 'Request method not supported.', 'KMS_REQUEST_REJECTED', /bug in sigstore-cdk/],
  ['KMS.0304', 403, 'X-Auth-Token contains the OBT tag and cannot be used to access services.', 'OTC_AUTH_FAILED', /OBT .* token of a regular IAM user/],
  ['KMS.0305', 403, 'Invalid X-Auth-Token project name.', 'OTC_AUTH_FAILED', /another project: check otc\.projectId \/ OS_PROJECT_ID/],
  ['KMS.0301', 403, 'Invalid or null X-Auth-Token.', 'OTC_AUTH_FAILED', /refused the IAM token .*otc\.endpoints\.iam/],
  ['KMS.0302', 403, 'Invalid X-Auth-Token.', 'OTC_AUTH_FAILED', /refused the IAM token .*otc\.endpoints\.iam/],
  ['KMS.0306', 403, 'No access permissions.', 'OTC_PERMISSION_DENIED', /KMS CMKFullAccess|KMS Administrator/],
  ['KMS.0314', 403, 'Real-name authentication is required to access the API.', 'OTC_PERMISSION_DENIED', /real-name authentication/],
  ['KMS.0320', 400, 'Resource frozen.', 'OTC_PERMISSION_DENIED', /frozen: renew/],
  ['KMS.0321', 403, 'URIs in URL and X-Auth-Token do not match.', 'OTC_AUTH_FAILED', /another project than the one in the (request )?URL: check otc\.projectId/],
  ['KMS.0327', 400, 'Failed to obtain user permissions.', 'OTC_PERMISSION_DENIED', /KMS CMKFullAccess|KMS Administrator/],
  ['KMS.0328', 403, 'KMS has been frozen. Renew it and try again.', 'OTC_PERMISSION_DENIED', /frozen for this account: renew/],
  ['KMS.1103', 400, 'Invalid key_description.', 'KMS_REQUEST_REJECTED', /key description .* bug in sigstore-cdk/],
  ['KMS.1301', 400, 'The key is not enabled.', 'KMS_KEY_UNUSABLE', /the key is not enabled.*: enable (it|the key)/],
];

describe('KMS error codes map to their documented meaning and what to do', () => {
  let emulator: KmsEmulator;
  beforeEach(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => emulator.stop());

  it.each(DOCUMENTED)('%s (HTTP %d "%s") is %s with an action', async (errorCode, status, documented, mapsTo, action) => {
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' });
    emulator.inject({ api: 'describe-key', status, errorCode });
    const error = await connectTo(emulator, 'access-key')
      .kms.describeKey(keyId)
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: mapsTo, details: { operation: 'kms describe-key', httpStatus: status, serviceCode: errorCode } });
    expect(error.message).toContain(`KMS describe-key failed: HTTP ${status} ${errorCode} ${documented}`);
    expect(error.message).toMatch(action);
    expect(emulator.callCounts()['kms describe-key']).toBe(1); // none of them is retried
  });

  it('a sign with a key pending deletion (KMS.0210) says to cancel the deletion and enable the key, not to pick a new alias first', async () => {
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384', state: '4' });
    const error = await connectTo(emulator)
      .kms.sign({ keyId, digest: Buffer.alloc(48, 1), algorithm: 'ECDSA_SHA_384' })
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'KMS_KEY_UNUSABLE', details: { serviceCode: 'KMS.0210', httpStatus: 400 } });
    expect(error.message).toMatch(/pending deletion: cancel the scheduled deletion .* then enable it/);
  });

  it('an expired X-Auth-Token (KMS.0303) is renewed once; a fresh token refused as expired too is reported as such', async () => {
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' });
    emulator.inject({ api: 'describe-key', expireTokens: true, times: 2 });
    const error = await connectTo(emulator, 'password')
      .kms.describeKey(keyId)
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_AUTH_FAILED', details: { serviceCode: 'KMS.0303', httpStatus: 403 } });
    expect(error.message).toContain('HTTP 403 KMS.0303 X-Auth-Token expired.');
    expect(error.message).toMatch(/a freshly issued token was refused as expired too: .*otc\.endpoints\.iam/);
    expect(emulator.callCounts()).toEqual({ 'iam auth/tokens': 2, 'kms describe-key': 2 });
  });

  it('KMS.0303 without a token to renew (AK/SK) does not claim that a fresh token was tried', async () => {
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' });
    emulator.inject({ api: 'describe-key', status: 403, errorCode: 'KMS.0303' });
    const error = await connectTo(emulator, 'temporary-access-key')
      .kms.describeKey(keyId)
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_AUTH_FAILED', details: { serviceCode: 'KMS.0303' } });
    expect(error.message).not.toMatch(/fresh/);
    expect(error.message).toMatch(/the credential expired: .*OS_SECURITY_TOKEN/);
  });
});
