import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';

const REPO_ENVS = join(__dirname, '..', '..', 'envs');

const OTC = 'otc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: fulcio-root-g1\n    tsaRootKeyAlias: tsa-root-g1\n';

function problemsOf(text: string): Record<string, { message: string; value?: string }> {
  try {
    parseConfigText(text, 'envs/bad.yaml');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return Object.fromEntries(error.problems.map((problem) => [problem.path.replace(/ \(line \d+\)$/, ''), problem]));
  }
  throw new Error('expected a ConfigError');
}

describe('cloud section', () => {
  it('is absent from the dev environment: dev gets no cloud stack', () => {
    expect(loadConfig({ env: 'dev', envsDir: REPO_ENVS }).cloud).toBeUndefined();
  });

  it('is documented field by field in the production example', () => {
    const config = parseConfigText(readFileSync(join(REPO_ENVS, 'prd.example.yaml'), 'utf8'), 'envs/prd.example.yaml');
    expect(config.cloud).toEqual({
      namePrefix: 'sigstore-prd',
      tags: { owner: 'platform-team', 'cost-center': 'pki' },
      bootstrapBucket: { name: 'example-forge-prd-sigstore', keyGeneration: 1, noncurrentVersionExpirationDays: 365 },
      audit: { manageTracker: true, tracePrefix: 'cts' },
      alarms: {
        subscriptions: [{ name: 'oncall', protocol: 'email', endpoint: 'pki-oncall@example.com' }],
        loadBalancerId: '0b6e5c2a-3f4d-4e8a-9c1b-2d3e4f5a6b7c',
        fulcioErrorsPerMinute: 1,
        tsaLatencyMs: 2000,
      },
      stateBackend: { kind: 'local' },
    });
  });

  it('has no custom-metric alarm settings any more (nothing publishes those metrics): they are refused as unknown', () => {
    const problems = problemsOf(`organization: x\n${OTC}cloud:\n  bootstrapBucket: { name: my-sigstore-bucket }\n  alarms: { kmsQuotaPercent: 80, customMetricNamespace: CUSTOM.SIGSTORE }\n`);
    expect(Object.keys(problems).sort()).toEqual(['cloud.alarms.customMetricNamespace', 'cloud.alarms.kmsQuotaPercent']);
  });

  it("defaults to the runbook's thresholds and a local state backend", () => {
    const config = parseConfigText(`organization: x\n${OTC}cloud:\n  bootstrapBucket:\n    name: my-sigstore-bucket\n`, 'envs/x.yaml');
    expect(config.cloud).toEqual({
      tags: {},
      bootstrapBucket: { name: 'my-sigstore-bucket', keyGeneration: 1, noncurrentVersionExpirationDays: 365 },
      audit: { manageTracker: true, tracePrefix: 'cts' },
      alarms: { subscriptions: [], fulcioErrorsPerMinute: 1, tsaLatencyMs: 2000 },
      stateBackend: { kind: 'local' },
    });
  });

  it('refuses bucket names OBS refuses, and dotted ones that break TLS', () => {
    for (const [name, fragment] of [
      ['my.sigstore.bucket', 'must not contain "."'],
      ['ab', '3-63 characters'],
      ['My-Bucket', 'lowercase letters'],
      ['-bucket', 'start and end'],
    ] as const) {
      const problems = problemsOf(`organization: x\n${OTC}cloud:\n  bootstrapBucket:\n    name: "${name}"\n`);
      expect(problems['cloud.bootstrapBucket.name']).toMatchObject({ value: JSON.stringify(name), message: expect.stringContaining(fragment) });
    }
  });

  it('names every bad cloud field, with its value', () => {
    const problems = problemsOf(
      [
        'organization: x',
        OTC.trimEnd(),
        'images:',
        '  mirror:',
        '    registry: swr.eu-nl.otc.t-systems.com',
        '    organization: forge',
        'cloud:',
        '  namePrefix: Sigstore_Prd',
        '  tags:',
        '    "bad key!": x',
        '  bootstrapBucket:',
        '    name: ok-bucket-name',
        '    noncurrentVersionExpirationDays: 0',
        '  alarms:',
        '    fulcioListenerId: 0b6e5c2a-3f4d-4e8a-9c1b-2d3e4f5a6b7c',
        '    tsaLatencyMs: 1.5',
        '    subscriptions:',
        '      - { name: oncall, protocol: email, endpoint: not-a-mail }',
        '      - { name: oncall, protocol: sms, endpoint: "0301234" }',
        '      - { name: hook, protocol: https, endpoint: "http://hook.example.com" }',
        '  stateBackend:',
        '    kind: local',
        '    path: ../state.tfstate',
        '  audits: {}',
      ].join('\n'),
    );
    expect(Object.keys(problems).sort()).toEqual(
      [
        'cloud.alarms.fulcioListenerId',
        'cloud.alarms.subscriptions[0].endpoint',
        'cloud.alarms.subscriptions[1].endpoint',
        'cloud.alarms.subscriptions[1].name',
        'cloud.alarms.subscriptions[2].endpoint',
        'cloud.alarms.tsaLatencyMs',
        'cloud.audits',
        'cloud.bootstrapBucket.noncurrentVersionExpirationDays',
        'cloud.namePrefix',
        'cloud.stateBackend.path',
        'cloud.tags.bad key!',
        'images.mirror.registry',
      ].sort(),
    );
    expect(problems['cloud.namePrefix'].value).toBe('"Sigstore_Prd"');
    expect(problems['cloud.alarms.fulcioListenerId'].message).toContain('loadBalancerId');
    expect(problems['cloud.alarms.subscriptions[1].name'].message).toContain('unique');
    expect(problems['cloud.alarms.subscriptions[1].endpoint'].message).toContain('E.164');
    expect(problems['cloud.alarms.subscriptions[2].endpoint'].message).toContain('https:// URL');
    expect(problems['cloud.stateBackend.path'].value).toBe('"../state.tfstate"');
    expect(problems['images.mirror.registry'].message).toContain('otc.region "eu-de"');
    expect(problems['cloud.audits'].message).toContain('accepted here: namePrefix, tags, bootstrapBucket, audit, alarms, stateBackend');
  });

  it('needs the otc section: the stack lives in an OTC project', () => {
    const problems = problemsOf('organization: x\ncloud:\n  bootstrapBucket:\n    name: my-sigstore-bucket\n');
    expect(problems['cloud'].message).toContain('"otc" section');
  });

  it('requires a bootstrap bucket and accepts the OBS state backend with its default key', () => {
    expect(problemsOf(`organization: x\n${OTC}cloud: {}\n`)['cloud.bootstrapBucket'].message).toMatch(/^missing: /);
    const config = parseConfigText(
      `organization: x\n${OTC}cloud:\n  bootstrapBucket: { name: my-sigstore-bucket }\n  stateBackend: { kind: obs, bucket: my-state-bucket }\n`,
      'envs/x.yaml',
    );
    expect(config.cloud?.stateBackend).toEqual({ kind: 'obs', bucket: 'my-state-bucket' });
  });
});
