import { connectKms } from '../../lib/otc/kms-connection';
import { credentialEnvironment, FAKE, instantRetries, kmsConfig, startEmulator } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

describe('IAM token authentication', () => {
  let emulator: KmsEmulator;
  let now: Date;
  beforeEach(async () => {
    now = new Date('2026-03-01T10:00:00Z');
    emulator = await startEmulator({ tokenLifetimeMs: 3600_000, clock: () => now });
  });
  afterEach(() => emulator.stop());

  const connect = (environment = credentialEnvironment('password')) =>
    connectKms(kmsConfig(emulator).otc!, { environment, clock: () => now, http: instantRetries().options });

  it('exchanges the password for one project-scoped token and reuses it', async () => {
    const { kms } = connect();
    await kms.listKeys();
    await kms.listKeys();
    expect(emulator.callCounts()).toEqual({ 'iam auth/tokens': 1, 'kms list-keys': 2 });
    expect(emulator.calls.filter((call) => call.service === 'kms').every((call) => call.auth === 'token')).toBe(true);
  });

  it('fetches a new token shortly before the old one expires', async () => {
    const { kms } = connect();
    await kms.listKeys();
    now = new Date(now.getTime() + 56 * 60_000); // 4 minutes left: inside the 5-minute margin
    await kms.listKeys();
    expect(emulator.callCounts()['iam auth/tokens']).toBe(2);
  });

  it('refreshes a token that KMS says expired (KMS.0303) and repeats the call once', async () => {
    const { kms } = connect();
    await kms.listKeys();
    emulator.expireTokens();
    expect(await kms.listKeys()).toEqual([]);
    expect(emulator.calls.map((call) => `${call.api} ${call.status}${call.errorCode ? ` ${call.errorCode}` : ''}`)).toEqual([
      'auth/tokens 201',
      'list-keys 200',
      'list-keys 403 KMS.0303',
      'auth/tokens 201',
      'list-keys 200',
    ]);
  });

  it('reports a wrong password as OTC_AUTH_FAILED without the password', async () => {
    const { kms } = connect({ ...credentialEnvironment('password'), OS_PASSWORD: 'PWcanary-wrong-password-4411' });
    const error = await kms.listKeys().catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_AUTH_FAILED', exitCode: 4, details: { operation: 'iam auth/tokens', httpStatus: 401 } });
    expect(error.message).toContain('check OS_USERNAME, OS_PASSWORD and OS_USER_DOMAIN_NAME');
    expect(error.message).not.toContain('PWcanary');
    expect(error.message).not.toContain(FAKE.password);
  });

  it('accepts the IAM endpoint written as an auth URL (…/v3)', async () => {
    const config = kmsConfig(emulator).otc!;
    const otc = { ...config, endpoints: { ...config.endpoints, iam: `${emulator.iamEndpoint}/v3` } };
    await connectKms(otc, { environment: credentialEnvironment('password'), clock: () => now, http: instantRetries().options }).kms.listKeys();
    expect(emulator.callCounts()).toEqual({ 'iam auth/tokens': 1, 'kms list-keys': 1 });
  });

  it('retries IAM on 429 too', async () => {
    emulator.inject({ api: 'auth/tokens', status: 429 });
    await connect().kms.listKeys();
    expect(emulator.calls.filter((call) => call.service === 'iam').map((call) => call.status)).toEqual([429, 201]);
  });
});
