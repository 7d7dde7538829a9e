import { inspect } from 'node:util';
import { credentialsFromEnvironment, describeCredentials, resolveProjectId, SecretValue } from '../../lib/otc/credentials';
import { FAKE, PROJECT_ID } from './kms-fixture';

describe('credentialsFromEnvironment', () => {
  it('prefers AK/SK, with an optional security token for temporary keys', () => {
    const credentials = credentialsFromEnvironment({
      OS_ACCESS_KEY: FAKE.accessKey,
      OS_SECRET_KEY: FAKE.secretKey,
      OS_SECURITY_TOKEN: FAKE.securityToken,
      OS_USERNAME: FAKE.username,
      OS_PASSWORD: FAKE.password,
      OS_USER_DOMAIN_NAME: FAKE.domainName,
    });
    expect(credentials.kind).toBe('access-key');
    if (credentials.kind !== 'access-key') throw new Error('unreachable');
    expect(credentials.secretKey.reveal()).toBe(FAKE.secretKey);
    expect(credentials.securityToken?.reveal()).toBe(FAKE.securityToken);
    expect(describeCredentials(credentials)).toBe('AK/SK from OS_ACCESS_KEY (temporary, OS_SECURITY_TOKEN)');
  });

  it('uses a password with the user domain (OS_USER_DOMAIN_NAME, else OS_DOMAIN_NAME)', () => {
    const credentials = credentialsFromEnvironment({ OS_USERNAME: FAKE.username, OS_PASSWORD: FAKE.password, OS_DOMAIN_NAME: FAKE.domainName });
    expect(credentials).toMatchObject({ kind: 'password', username: FAKE.username, domainName: FAKE.domainName });
    expect(describeCredentials(credentials)).toBe(`IAM user ${FAKE.username} (domain ${FAKE.domainName}) from OS_USERNAME/OS_PASSWORD`);
  });

  it('names the variables to set, and which were found, never their values', () => {
    expect(() => credentialsFromEnvironment({})).toThrow(expect.objectContaining({ code: 'OTC_CREDENTIALS_MISSING', message: expect.stringContaining('none of them is set') }));
    let message = '';
    try {
      credentialsFromEnvironment({ OS_ACCESS_KEY: FAKE.accessKey, OS_PASSWORD: FAKE.password });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('set OS_ACCESS_KEY and OS_SECRET_KEY');
    expect(message).toContain('only OS_ACCESS_KEY, OS_PASSWORD are set');
    expect(message).not.toContain(FAKE.accessKey);
    expect(message).not.toContain(FAKE.password);
  });

  it('ignores empty variables', () => {
    expect(() => credentialsFromEnvironment({ OS_ACCESS_KEY: ' ', OS_SECRET_KEY: '' })).toThrow(expect.objectContaining({ code: 'OTC_CREDENTIALS_MISSING' }));
  });
});

describe('SecretValue', () => {
  it('prints as [redacted] in strings, JSON and util.inspect', () => {
    const secret = new SecretValue(FAKE.secretKey);
    const holder = { secret };
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify(holder)).toBe('{"secret":"[redacted]"}');
    expect(inspect(holder)).not.toContain(FAKE.secretKey);
    expect(secret.reveal()).toBe(FAKE.secretKey);
  });
});

describe('resolveProjectId', () => {
  it('takes otc.projectId, else OS_PROJECT_ID', () => {
    expect(resolveProjectId(PROJECT_ID, { OS_PROJECT_ID: '1'.repeat(32) })).toBe(PROJECT_ID);
    expect(resolveProjectId(undefined, { OS_PROJECT_ID: PROJECT_ID })).toBe(PROJECT_ID);
  });

  it('explains a missing or malformed project id', () => {
    expect(() => resolveProjectId(undefined, {})).toThrow(expect.objectContaining({ code: 'OTC_PROJECT_MISSING', message: expect.stringContaining('OS_PROJECT_ID') }));
    expect(() => resolveProjectId(undefined, { OS_PROJECT_ID: 'eu-de_sigstore' })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('"eu-de_sigstore" is not a project id: expected 32 lowercase hex digits') }),
    );
  });
});
