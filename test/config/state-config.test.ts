import { configError, configFromYaml } from '../helpers/config';

const BASE = 'organization: Test Org\nsigner: local\n';
const OTC = 'otc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: f-g1\n    tsaRootKeyAlias: t-g1\n';
/** A problem's path, with the line the YAML put it on. */
const at = (path: string) => expect.stringMatching(new RegExp(`^${path.replace(/\./g, '\\.')}( \\(line \\d+\\))?$`));
const KEY = '0b6b7c1e-3a58-4c1e-9a3c-5d6e7f809102';

describe('state: where the state lives', () => {
  it('is local by default', () => {
    expect(configFromYaml(BASE).state).toEqual({ backend: 'local' });
  });

  it('obs: state.bucket, the key, and defaults for the prefix and the lock ttl', () => {
    const config = configFromYaml(`${BASE}${OTC}state:\n  backend: obs\n  bucket: sigstore-prd-bootstrap\n  kmsKeyId: ${KEY}\n`);
    expect(config.state).toEqual({ backend: 'obs', bucket: 'sigstore-prd-bootstrap', prefix: 'sigstore-state', kmsKeyId: KEY, lockTtlSeconds: 120 });
  });

  it('obs needs the otc section, naming the field', () => {
    const error = configError(`${BASE}state:\n  backend: obs\n  bucket: sigstore-prd-bootstrap\n  kmsKeyId: ${KEY}\n`);
    expect(error.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'otc', message: expect.stringContaining('state.backend is "obs"') })]));
  });

  it('obs needs a bucket: state.bucket, or cloud.bootstrapBucket.name to default to', () => {
    const error = configError(`${BASE}${OTC}state:\n  backend: obs\n  kmsKeyId: ${KEY}\n`);
    expect(error.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: at('state.bucket'), message: expect.stringContaining('cloud.bootstrapBucket.name') })]));
  });

  it.each([
    ['kmsKeyId', `  bucket: b-bucket\n  kmsKeyId: not-a-key\n`, 'state.kmsKeyId', 'KMS key id'],
    ['kmsKeyId missing', `  bucket: b-bucket\n`, 'state.kmsKeyId', 'bootstrap_key_id'],
    ['bucket', `  bucket: Bad.Bucket\n  kmsKeyId: ${KEY}\n`, 'state.bucket', 'OBS bucket name'],
    ['prefix', `  bucket: b-bucket\n  kmsKeyId: ${KEY}\n  prefix: /abs\n`, 'state.prefix', 'object key prefix'],
    ['lockTtlSeconds', `  bucket: b-bucket\n  kmsKeyId: ${KEY}\n  lockTtlSeconds: 5\n`, 'state.lockTtlSeconds', 'from 10 to 3600'],
  ])('refuses a bad %s, naming the field and what is accepted', (_name, yaml, path, accepted) => {
    const error = configError(`${BASE}${OTC}state:\n  backend: obs\n${yaml}`);
    expect(error.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: at(path), message: expect.stringContaining(accepted) })]));
  });

  it('a field of the obs backend under backend: local is unknown, and the accepted fields are those of local', () => {
    const error = configError(`${BASE}state:\n  backend: local\n  bucket: b-bucket\n`);
    expect(error.problems).toEqual([{ path: at('state.bucket'), message: 'unknown field; accepted here (with backend: local): backend' }]);
    // Without a backend that chooses a variant, every variant's fields are accepted.
    expect(configError(`${BASE}state:\n  backend: s3\n`).problems[0].message).not.toContain('accepted here (with');
  });

  it('refuses an unknown backend', () => {
    const error = configError(`${BASE}state:\n  backend: s3\n`);
    expect(error.problems[0]).toMatchObject({ path: at('state.backend'), message: expect.stringContaining('"backend: local" or "backend: obs"') });
  });
});
