import { parseConfigText } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';

function problemsOf(text: string): { path: string; message: string; value?: string }[] {
  try {
    parseConfigText(text, 'envs/bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => ({ ...problem, path: problem.path.replace(/ \(line \d+\)$/, '') }));
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const OTC_KMS = 'organization: x\nsigner: otc-kms\notc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: f-g1\n    tsaRootKeyAlias: t-g1\n';

describe('tuf configuration', () => {
  it('defaults: root 1y/90d, targets 180d/60d, snapshot 60d/21d, timestamp 14d/10d', () => {
    const config = parseConfigText('organization: x\n', 'envs/dev.yaml');
    expect(config.tuf.expiry).toEqual({
      root: { amount: 1, unit: 'y' },
      targets: { amount: 180, unit: 'd' },
      snapshot: { amount: 60, unit: 'd' },
      timestamp: { amount: 14, unit: 'd' },
    });
    expect(config.tuf.refreshBefore).toEqual({
      root: { amount: 90, unit: 'd' },
      targets: { amount: 60, unit: 'd' },
      snapshot: { amount: 21, unit: 'd' },
      timestamp: { amount: 10, unit: 'd' },
    });
  });

  it('refuses a refresh window that is not shorter than the expiry, naming the role and both values', () => {
    const problems = problemsOf('organization: x\ntuf:\n  expiry:\n    timestamp: 7d\n  refreshBefore:\n    timestamp: 168h\n    root: 2y\n');
    expect(problems).toEqual([
      expect.objectContaining({ path: 'tuf.refreshBefore.root', value: '"2y"', message: expect.stringContaining('shorter than tuf.expiry.root (1y)') }),
      expect.objectContaining({ path: 'tuf.refreshBefore.timestamp', value: '"168h"', message: expect.stringContaining('shorter than tuf.expiry.timestamp (7d)') }),
    ]);
  });

  it('refuses a bad duration and an unknown role', () => {
    const problems = problemsOf('organization: x\ntuf:\n  expiry:\n    snapshot: 1 month\n    mirrors: 1d\n');
    expect(problems.map((problem) => problem.path).sort()).toEqual(['tuf.expiry.mirrors', 'tuf.expiry.snapshot']);
  });

  it('requires the TUF root key alias with the otc-kms signer', () => {
    expect(problemsOf(OTC_KMS)).toEqual([
      expect.objectContaining({ path: 'otc.kms.tufRootKeyAlias', message: expect.stringMatching(/^missing: expected the alias of the TUF root key \(an EC_P256 key\)/) }),
    ]);
    const config = parseConfigText(`${OTC_KMS}    tufRootKeyAlias: u-g1\n`, 'envs/prd.yaml');
    expect(config.otc?.kms.tufRootKeyAlias).toBe('u-g1');
  });

  it('refuses a TUF root key shared with another root', () => {
    expect(problemsOf(`${OTC_KMS}    tufRootKeyAlias: t-g1\n`)).toEqual([
      expect.objectContaining({ path: 'otc.kms.tufRootKeyAlias', value: '"t-g1"', message: expect.stringContaining('each root needs its own key') }),
    ]);
  });

  describe('tuf.root: the root keys and threshold', () => {
    it('defaults to threshold 1 and no explicit keys (the signer\'s TUF root key), so existing environments are unchanged', () => {
      expect(parseConfigText('organization: x\n', 'envs/dev.yaml').tuf.root).toEqual({ threshold: 1 });
      const config = parseConfigText(`${OTC_KMS}    tufRootKeyAlias: u-g1\ntuf:\n  root:\n    threshold: 2\n    keys: [{ kmsAlias: u-a-g2 }, { kmsKeyId: 0d0466b0-e727-4d9c-b35d-f84bb474a37f }, { local: offline-b }]\n`, 'envs/prd.yaml');
      expect(config.tuf.root).toEqual({ threshold: 2, keys: [{ kmsAlias: 'u-a-g2' }, { kmsKeyId: '0d0466b0-e727-4d9c-b35d-f84bb474a37f' }, { local: 'offline-b' }] });
    });

    it('refuses a threshold above the number of keys, naming the field, the value and the limit', () => {
      expect(problemsOf('organization: x\ntuf:\n  root:\n    threshold: 2\n')).toEqual([
        expect.objectContaining({ path: 'tuf.root.threshold', value: '2', message: expect.stringContaining("expected at most 1, the number of tuf.root.keys (one by default: the signer's TUF root key)") }),
      ]);
      expect(problemsOf('organization: x\ntuf:\n  root:\n    threshold: 3\n    keys: [{ local: a }, { local: b }]\n')).toEqual([
        expect.objectContaining({ path: 'tuf.root.threshold', value: '3', message: expect.stringContaining('expected at most 2') }),
      ]);
      expect(problemsOf('organization: x\ntuf:\n  root:\n    threshold: 0\n')).toEqual([
        expect.objectContaining({ path: 'tuf.root.threshold', value: '0', message: expect.stringContaining('expected a whole number of signatures from 1 to 10') }),
      ]);
    });

    it('refuses a key with none or two kinds, a bad name or id, a duplicate, and KMS keys without the otc-kms signer', () => {
      const problems = problemsOf(
        'organization: x\ntuf:\n  root:\n    keys:\n      - {}\n      - { local: a, kmsAlias: b }\n      - { local: Bad_Name }\n      - { local: fulcio-root }\n      - { local: c }\n      - { local: c }\n      - { kmsAlias: k-g2 }\n      - { kmsKeyId: not-an-id }\n      - { file: keys/tuf.pem }\n      - { file: /media/usb/tuf-root.key.pem }\n',
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'tuf.root.keys[0]', message: expect.stringContaining('expected exactly one of kmsAlias, kmsKeyId, local or file') }),
          expect.objectContaining({ path: 'tuf.root.keys[1]', message: expect.stringContaining('(found kmsAlias and local)') }),
          expect.objectContaining({ path: 'tuf.root.keys[2].local', value: '"Bad_Name"', message: expect.stringContaining('lowercase letters, digits and "-"') }),
          expect.objectContaining({ path: 'tuf.root.keys[3].local', value: '"fulcio-root"', message: expect.stringContaining("other roots' keys") }),
          expect.objectContaining({ path: 'tuf.root.keys[5].local', value: '"c"', message: expect.stringContaining('expected each root key once (also tuf.root.keys[4])') }),
          expect.objectContaining({ path: 'tuf.root.keys[6].kmsAlias', value: '"k-g2"', message: expect.stringContaining('because signer is not "otc-kms"') }),
          expect.objectContaining({ path: 'tuf.root.keys[7].kmsKeyId', value: '"not-an-id"', message: expect.stringContaining('expected a KMS key id') }),
          expect.objectContaining({ path: 'tuf.root.keys[8].file', value: '"keys/tuf.pem"', message: expect.stringContaining('expected an absolute path') }),
        ]),
      );
      expect(problems.filter((problem) => problem.path.startsWith('tuf.root.keys[9]'))).toEqual([]);
    });

    it('refuses a TUF root key alias that is another root\'s', () => {
      expect(problemsOf(`${OTC_KMS}    tufRootKeyAlias: u-g1\ntuf:\n  root:\n    keys: [{ kmsAlias: f-g1 }]\n`)).toEqual([
        expect.objectContaining({ path: 'tuf.root.keys[0].kmsAlias', value: '"f-g1"', message: expect.stringContaining('each root needs its own key') }),
      ]);
    });
  });
});
