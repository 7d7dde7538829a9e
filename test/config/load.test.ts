import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '../../lib/config/load';
import { configError } from '../helpers/config';
import { useTempDirectory } from '../helpers/temp-directory';

const REPO_ENVS = join(__dirname, '..', '..', 'envs');

describe('loadConfig', () => {
  const temp = useTempDirectory();

  it('reads the embedded dev environment with its defaults', () => {
    const config = loadConfig({ env: 'dev', envsDir: REPO_ENVS });
    expect(config.env).toBe('dev');
    expect(config.signer).toBe('local');
    expect(config.otc).toBeUndefined();
    expect(config.pki.fulcio.rootValidity).toEqual({ amount: 10, unit: 'y' });
    expect(config.pki.fulcio.intermediateValidity).toEqual({ amount: 5, unit: 'y' });
    expect(config.pki.tsa.leafValidity).toEqual({ amount: 2, unit: 'y' });
    expect(config.cluster.namespace).toBe('sigstore-system');
    expect(config.services.fulcio.replicas).toBe(1);
    expect(config.services.ctlog.prefix).toBe('sigstore');
    expect(config.database).toEqual({ kind: 'in-cluster', storageSize: '5Gi' });
  });

  it('accepts the documented production example, field by field', () => {
    const config = parseConfigText(readFileSync(join(REPO_ENVS, 'prd.example.yaml'), 'utf8'), 'envs/prd.example.yaml');
    expect(config.signer).toBe('otc-kms');
    expect(config.otc?.kms).toEqual({
      fulcioRootKeyAlias: 'sigstore-fulcio-root-g1',
      tsaRootKeyAlias: 'sigstore-tsa-root-g1',
      tufRootKeyAlias: 'sigstore-tuf-root-g1',
      stateKeyAlias: 'sigstore-prd-state',
      keySpec: 'EC_P384',
    });
    expect(config.otc?.endpoints.kms).toBe('https://kms.eu-de.otc.t-systems.com');
    expect(config.services.fulcio).toEqual({ replicas: 2, hostname: 'fulcio.example.com', grpcHostname: 'fulcio-grpc.example.com' });
    // One signer and no pinned trees: the example's first deployment creates the trees (README step 8 pins them for HA).
    expect(config.services.trillian.logSignerReplicas).toBe(1);
    expect(config.services.trillian.treeIds).toBeUndefined();
    expect(config.database.kind).toBe('external');
    expect(config.images.mirror).toEqual({ registry: 'swr.eu-de.otc.t-systems.com', organization: 'example-forge-prd' });
    expect(config.oidc.tenants.map((tenant) => tenant.name)).toEqual(['acme-corp', 'globex']);
    expect(config.oidc.tenants[0].issuers[0]).toEqual({
      url: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
      type: 'email',
      clientId: 'sigstore',
    });
  });

  it('names the missing environment and lists the available ones', () => {
    mkdirSync(join(temp(), 'envs'));
    writeFileSync(join(temp(), 'envs', 'dev.yaml'), 'organization: x\n');
    writeFileSync(join(temp(), 'envs', 'stg.yaml'), 'organization: x\n');
    expect(() => loadConfig({ env: 'prd', envsDir: join(temp(), 'envs') })).toThrow(
      expect.objectContaining({ code: 'CONFIG_NOT_FOUND', message: expect.stringContaining('available: dev, stg') }),
    );
  });

  it('refuses an environment name that is not a plain name', () => {
    expect(() => loadConfig({ env: '../etc/passwd', envsDir: REPO_ENVS })).toThrow(expect.objectContaining({ code: 'ENV_NAME_INVALID' }));
  });

  it('reports YAML syntax errors with their line', () => {
    const error = configError('organization: x\nservices: [\n');
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.problems[0].path).toMatch(/^line \d+$/);
  });
});

describe('bad fields', () => {
  it('names every bad field at once, with its value, its line and what is accepted', () => {
    const error = configError(
      [
        'organization: ""',
        'signer: hsm',
        'pki:',
        '  fulcio:',
        '    rootValidity: ten years',
        'services:',
        '  fulcio:',
        '    replicas: 0',
        '    hostname: https://fulcio.example.com',
        '  rekor:',
        '    replicaz: 2',
        'database:',
        '  kind: rds',
        'oidc:',
        '  issuers:',
        '    - url: http://issuer.example.com',
        '      type: gitlab',
      ].join('\n'),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    const byPath = Object.fromEntries(error.problems.map((problem) => [problem.path.replace(/ \(line \d+\)$/, ''), problem]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'database.kind',
        'oidc.issuers[0].type',
        'oidc.issuers[0].url',
        'organization',
        'pki.fulcio.rootValidity',
        'services.fulcio.hostname',
        'services.fulcio.replicas',
        'services.rekor.replicaz',
        'signer',
      ].sort(),
    );
    expect(byPath['organization']).toMatchObject({ value: '""', message: expect.stringContaining('non-empty') });
    expect(byPath['signer']).toMatchObject({ value: '"hsm"', message: expect.stringContaining('"local"|"otc-kms"') });
    expect(byPath['pki.fulcio.rootValidity']).toMatchObject({ value: '"ten years"', message: expect.stringContaining('"10y"') });
    expect(byPath['services.fulcio.replicas']).toMatchObject({ value: '0', message: expect.stringContaining('from 1 to 20') });
    expect(byPath['services.fulcio.hostname']).toMatchObject({ message: expect.stringContaining('without scheme') });
    expect(byPath['services.rekor.replicaz'].message).toBe('unknown field; accepted here: replicas, hostname, tlsSecret, ingressAnnotations');
    expect(byPath['database.kind']).toMatchObject({ value: '"rds"', message: expect.stringContaining('in-cluster') });
    expect(byPath['oidc.issuers[0].url']).toMatchObject({ value: '"http://issuer.example.com"', message: expect.stringContaining('https URL') });
    expect(byPath['oidc.issuers[0].type']).toMatchObject({ value: '"gitlab"', message: expect.stringContaining('"gitlab-pipeline"') });
    // The human message carries the same facts, line numbers included.
    expect(error.message).toContain('envs/bad.yaml has 9 invalid fields');
    expect(error.message).toContain('services.fulcio.replicas (line 8): expected a whole number of replicas from 1 to 20 (got 0)');
  });

  it('reports a missing required field', () => {
    const error = configError('signer: local\n');
    expect(error.problems).toEqual([expect.objectContaining({ path: 'organization', message: expect.stringMatching(/^missing: /) })]);
  });

  it('requires the otc section for the otc-kms signer, even when other fields are bad too', () => {
    const error = configError('organization: x\nsigner: otc-kms\nservices:\n  tsa:\n    replicas: -1\n');
    expect(error.problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''))).toEqual(['services.tsa.replicas', 'otc']);
    expect(error.problems[1].message).toContain('because signer is "otc-kms"');
  });

  it('refuses one KMS key for both roots, and reserved aliases', () => {
    const error = configError(
      'organization: x\nsigner: otc-kms\notc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: k/default\n    tsaRootKeyAlias: k/default\n',
    );
    expect(error.problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''))).toEqual(
      expect.arrayContaining(['otc.kms.fulcioRootKeyAlias', 'otc.kms.tsaRootKeyAlias']),
    );
    expect(error.message).toContain('reserved by KMS');
  });

  it('refuses duplicate tenant names and bad storage sizes', () => {
    const error = configError(
      [
        'organization: x',
        'database:',
        '  kind: in-cluster',
        '  storageSize: 5GB',
        'oidc:',
        '  tenants:',
        '    - name: acme',
        '      issuers: [{ url: "https://a.example.com" }]',
        '    - name: acme',
        '      issuers: [{ url: "https://b.example.com" }]',
      ].join('\n'),
    );
    const paths = error.problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''));
    expect(paths).toEqual(expect.arrayContaining(['database.storageSize', 'oidc.tenants[1].name']));
    expect(error.problems.find((problem) => problem.path.startsWith('database.storageSize'))?.value).toBe('"5GB"');
  });

  it('accepts TSA NTP servers only with NTP monitoring on, and checks them as hostnames', () => {
    const ok = parseConfigText('organization: x\nservices:\n  tsa: { ntpMonitoring: true, ntpServers: [ntp1.example.internal] }\n', 'envs/ok.yaml');
    expect(ok.services.tsa).toEqual({ replicas: 1, ntpMonitoring: true, ntpServers: ['ntp1.example.internal'] });
    const off = configError('organization: x\nservices:\n  tsa: { ntpServers: [ntp1.example.internal] }\n');
    expect(off.problems).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/^services\.tsa\.ntpServers/), message: expect.stringContaining('"ntpMonitoring: true"') }),
    ]);
    const bad = configError('organization: x\nservices:\n  tsa: { ntpMonitoring: true, ntpServers: ["udp://ntp"] }\n');
    expect(bad.problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''))).toEqual(['services.tsa.ntpServers[0]']);
  });
});
