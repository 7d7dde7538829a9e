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
});
