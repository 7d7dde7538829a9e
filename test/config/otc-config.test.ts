import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';
import { defaultIamEndpoint, defaultKmsEndpoint } from '../../lib/otc/endpoints';
import { stateKeyAliasOf } from '../../lib/config/state-key-alias';

const KMS_SECTION = (extra: string) =>
  [
    'organization: Test Org',
    'signer: otc-kms',
    'otc:',
    '  region: eu-de',
    '  kms:',
    '    fulcioRootKeyAlias: fulcio-g1',
    '    tsaRootKeyAlias: tsa-g1',
    '    tufRootKeyAlias: tuf-g1',
    extra,
  ].join('\n');

function problems(text: string): { path: string; message: string; value?: string }[] {
  try {
    parseConfigText(text, 'envs/bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('otc configuration', () => {
  it('defaults the request timeout to 30 s and retries to 5; endpoints to the region', () => {
    const config = parseConfigText(KMS_SECTION(''), 'envs/x.yaml');
    expect(config.otc?.requests).toEqual({ timeoutSeconds: 30, maxRetries: 5 });
    expect(config.otc?.endpoints).toEqual({});
    expect(config.otc?.kms.keySpec).toBe('EC_P384');
    expect([defaultIamEndpoint('eu-de'), defaultKmsEndpoint('eu-de')]).toEqual(['https://iam.eu-de.otc.t-systems.com', 'https://kms.eu-de.otc.t-systems.com']);
    expect([defaultIamEndpoint('eu-nl'), defaultKmsEndpoint('eu-nl')]).toEqual(['https://iam.eu-de.otc.t-systems.com', 'https://kms.eu-nl.otc.t-systems.com']);
    expect(defaultKmsEndpoint('eu-ch2')).toBe('https://kms.eu-ch2.sc.otc.t-systems.com');
  });

  it('documents the request settings in envs/prd.example.yaml', () => {
    const example = readFileSync(join(__dirname, '..', '..', 'envs', 'prd.example.yaml'), 'utf8');
    expect(parseConfigText(example, 'envs/prd.example.yaml').otc?.requests).toEqual({ timeoutSeconds: 30, maxRetries: 5 });
  });

  it('accepts plain http only on the loopback interface (an emulator or a local tunnel)', () => {
    const config = parseConfigText(KMS_SECTION('  endpoints:\n    iam: http://127.0.0.1:8443\n    kms: http://localhost:9443'), 'envs/x.yaml');
    expect(config.otc?.endpoints).toEqual({ iam: 'http://127.0.0.1:8443', kms: 'http://localhost:9443' });
    // The IAM endpoint may be written as an auth URL (…/v3); the API paths are absolute either way.
    expect(parseConfigText(KMS_SECTION('  endpoints:\n    iam: https://iam.example.com/v3'), 'envs/x.yaml').otc?.endpoints.iam).toBe('https://iam.example.com/v3');
    const found = problems(KMS_SECTION('  endpoints:\n    kms: http://kms.eu-de.otc.t-systems.com\n    iam: https://iam.example.com/identity/v3'));
    expect(found).toEqual([
      expect.objectContaining({ path: 'otc.endpoints.iam (line 11)', value: '"https://iam.example.com/identity/v3"', message: expect.stringContaining('without a path other than "/v3"') }),
      expect.objectContaining({ path: 'otc.endpoints.kms (line 10)', value: '"http://kms.eu-de.otc.t-systems.com"', message: expect.stringContaining('http only for 127.0.0.1') }),
    ]);
    expect(problems(KMS_SECTION('  endpoints:\n    kms: https://proxy.example.com/kms'))[0].message).toContain('without path, query or fragment');
  });

  it('names bad request settings with their value and range', () => {
    const found = problems(KMS_SECTION('  requests:\n    timeoutSeconds: 0\n    maxRetries: 11\n    retries: 3'));
    expect(found).toEqual([
      expect.objectContaining({ path: expect.stringContaining('otc.requests.timeoutSeconds'), value: '0', message: 'expected a whole number of seconds from 1 to 300' }),
      expect.objectContaining({ path: expect.stringContaining('otc.requests.maxRetries'), value: '11', message: 'expected a whole number of retries from 0 to 10' }),
      expect.objectContaining({ path: expect.stringContaining('otc.requests.retries'), message: expect.stringContaining('unknown field; accepted here: timeoutSeconds, maxRetries') }),
    ]);
  });

  it('names the state key: its default per environment, a bad alias with its value, and a root key alias named twice', () => {
    const config = { ...parseConfigText(KMS_SECTION(''), 'envs/x.yaml'), env: 'prd' };
    expect(config.otc?.kms.stateKeyAlias).toBeUndefined();
    expect(stateKeyAliasOf(config)).toBe('sigstore-prd-state');
    expect(stateKeyAliasOf({ ...parseConfigText(KMS_SECTION('    stateKeyAlias: state-g1'), 'envs/x.yaml'), env: 'prd' })).toBe('state-g1');
    expect(problems(KMS_SECTION('    stateKeyAlias: "bad alias!"'))).toEqual([
      expect.objectContaining({ path: expect.stringContaining('otc.kms.stateKeyAlias'), value: '"bad alias!"', message: expect.stringContaining('expected a KMS key alias of 1-255 letters') }),
    ]);
    expect(problems(KMS_SECTION('    stateKeyAlias: tuf-g1'))).toEqual([
      expect.objectContaining({ path: expect.stringContaining('otc.kms.stateKeyAlias'), value: '"tuf-g1"', message: expect.stringContaining('expected a key of its own (a symmetric AES_256 key)') }),
    ]);
  });
});
