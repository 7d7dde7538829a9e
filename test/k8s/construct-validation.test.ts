import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { IMAGES, imageReference } from '../../lib/config/images';
import { ChartError } from '../../lib/errors';
import { CtLog } from '../../lib/k8s/ct-log';
import { fulcioConfigJson, trustedIssuers } from '../../lib/k8s/fulcio-config';
import { buildClusterCharts } from '../../lib/k8s/cluster-manifests';
import { TreeJob } from '../../lib/k8s/tree-job';
import { Trillian } from '../../lib/k8s/trillian';
import { CONFIGMAP_DATA_LIMIT_BYTES, TufServer } from '../../lib/k8s/tuf-server';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { PRODUCTION_LIKE_YAML, chartInput, find, synthesizeCluster } from './cluster-fixture';
import { IN_MEMORY_OUTDIR } from '../helpers/temp-directory';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-validation-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const chart = () => new Chart(Testing.app({ outdir: IN_MEMORY_OUTDIR }), 'test', { namespace: 'sigstore-system', disableResourceNameHashes: true });
const expectChartError = (work: () => unknown, code: string, message: RegExp) => {
  let caught: unknown;
  try {
    work();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ChartError);
  expect((caught as ChartError).code).toBe(code);
  expect((caught as ChartError).message).toMatch(message);
};
const trillianEndpoint = { host: 'trillian-log-server.sigstore-system.svc', port: 8091, targetPort: 8091, protocol: 'TCP', component: 'trillian-log-server' } as const;
const database = {
  host: 'db',
  port: 3306,
  database: 'trillian',
  username: {} as any,
  password: {} as any,
  route: { kind: 'service', endpoint: { host: 'db', port: 3306, targetPort: 3306, protocol: 'TCP', component: 'db' } },
} as const;
const trillianProps = {
  namespace: 'sigstore-system',
  database,
  logServerImage: imageReference(IMAGES.trillianLogServer),
  logSignerImage: imageReference(IMAGES.trillianLogSigner),
};

describe('constructs validate their props, naming the construct path, the prop and the value', () => {
  it('Trillian: replicas out of range, unpinned image', () => {
    expectChartError(() => new Trillian(chart(), 'Trillian', { ...trillianProps, logSignerReplicas: 0 }), 'CHART_PROPS_INVALID', /test\/Trillian: logSignerReplicas 0 is invalid; expected a whole number from 1 to 20/);
    expectChartError(
      () => new Trillian(chart(), 'Trillian', { ...trillianProps, logSignerReplicas: 2, shellImage: imageReference(IMAGES.curl) }),
      'CHART_PROPS_INVALID',
      /test\/Trillian: electionTrees \[\] is invalid; expected the ids of the trees the signers sequence/,
    );
    expectChartError(
      () => new Trillian(chart(), 'Trillian', { ...trillianProps, logServerImage: 'ghcr.io/sigstore/scaffolding/trillian_log_server:latest' }),
      'CHART_PROPS_INVALID',
      /logServerImage "ghcr\.io\/sigstore\/scaffolding\/trillian_log_server:latest" is invalid; expected an image reference pinned by digest/,
    );
  });

  it('constructs work on their own, in a chart without network peers (which renders no policy)', () => {
    const scope = chart();
    new TreeJob(scope, 'Tree', { name: 'rekor', namespace: 'sigstore-system', adminServer: trillianEndpoint, displayName: 'rekor', image: imageReference(IMAGES.createtree) });
    expect(Testing.synth(scope).map((object: any) => object.kind)).toEqual(['ConfigMap', 'ServiceAccount', 'Role', 'RoleBinding', 'Job']);
  });

  it('TreeJob: a display name longer than Trillian stores', () => {
    expectChartError(
      () =>
        new TreeJob(chart(), 'Tree', {
          name: 'rekor',
          namespace: 'sigstore-system',
          adminServer: trillianEndpoint,
          displayName: 'a display name that is far too long',
          image: imageReference(IMAGES.createtree),
        }),
      'CHART_PROPS_INVALID',
      /test\/Tree: displayName "a display name that is far too long" is invalid; expected at most 20/,
    );
  });

  it('TufServer: paths that escape, duplicates, clashing keys, an unknown probe path, more than a ConfigMap holds', () => {
    const tuf = (files: { path: string; content: string }[], probePath?: string) => () =>
      new TufServer(chart(), 'Tuf', { namespace: 'sigstore-system', files, probePath, image: imageReference(IMAGES.tufServer) });
    expectChartError(tuf([{ path: '../etc/passwd', content: 'x' }]), 'CHART_PROPS_INVALID', /files\[\]\.path "\.\.\/etc\/passwd" is invalid/);
    expectChartError(tuf([{ path: '/root.json', content: 'x' }]), 'CHART_PROPS_INVALID', /files\[\]\.path "\/root\.json"/);
    expectChartError(tuf([{ path: 'a.json', content: 'x' }, { path: 'a.json', content: 'y' }]), 'CHART_PROPS_INVALID', /each path once/);
    expectChartError(tuf([{ path: 'a/b.json', content: 'x' }, { path: 'a__b.json', content: 'y' }]), 'CHART_PROPS_INVALID', /differs from that of a\/b\.json/);
    expectChartError(tuf([{ path: 'a.json', content: 'x' }], 'b.json'), 'CHART_PROPS_INVALID', /probePath "b\.json"/);
    expectChartError(tuf([{ path: `targets/${'a'.repeat(250)}.json`, content: 'x' }]), 'CHART_PROPS_INVALID', /at most 253 characters/);
    const big = 'x'.repeat(300 * 1024);
    expectChartError(
      tuf([1, 2, 3, 4].map((n) => ({ path: `targets/${n}.json`, content: big }))),
      'CHART_CONFIGMAP_TOO_LARGE',
      new RegExp(`test/Tuf: the 4 files to serve take \\d+ bytes, more than the ${CONFIGMAP_DATA_LIMIT_BYTES}`),
    );
  });

  it('CtLog: a key password that sed and text-proto cannot carry', () => {
    expectChartError(
      () =>
        new CtLog(chart(), 'CtLog', {
          namespace: 'sigstore-system',
          prefix: 'sigstore',
          trillian: trillianEndpoint,
          treeId: {} as any,
          rootsPem: material.fulcio.root.toString('pem'),
          signingKey: { pem: material.ctlog.privateKey.pem, password: 'has/slash"quote' },
          secretsScope: chart(),
          image: imageReference(IMAGES.ctServer),
          shellImage: imageReference(IMAGES.curl),
        }),
      'CHART_PROPS_INVALID',
      /signingKey\.password "<secret>" is invalid; expected base64url characters only/,
    );
  });

  it('Fulcio config: an issuer configured differently by two tenants, ci-provider, uri without subjectDomain', () => {
    // The configuration schema refuses these (test/config/field-rules.test.ts); a direct caller meets the same rules here.
    const issuer = (fields: Record<string, string>) => ({ type: 'email', clientId: 'sigstore', ...fields }) as any;
    const conflicting = {
      issuers: [],
      tenants: [
        { name: 'a', issuers: [issuer({ url: 'https://idp.example.com', type: 'email' })] },
        { name: 'b', issuers: [issuer({ url: 'https://idp.example.com', type: 'username', subjectDomain: 'example.com' })] },
      ],
    };
    expectChartError(() => trustedIssuers(conflicting), 'CHART_PROPS_INVALID', /https:\/\/idp\.example\.com is configured differently by tenant a \(type email.*\) and by tenant b \(type username/);
    const ciProvider = { issuers: [issuer({ url: 'https://ci.example.com', type: 'ci-provider', ciProvider: 'github-workflow' })], tenants: [] };
    expectChartError(() => fulcioConfigJson(trustedIssuers(ciProvider)), 'CHART_PROPS_INVALID', /oidc\.issuers\[0\]\.ciProvider "github-workflow" is invalid; expected a CI provider that exists: "github-actions", "gitlab-ci"/);
    const noProvider = { issuers: [issuer({ url: 'https://ci.example.com', type: 'ci-provider' })], tenants: [] };
    expectChartError(() => fulcioConfigJson(trustedIssuers(noProvider)), 'CHART_PROPS_INVALID', /https:\/\/ci\.example\.com \(listed by oidc\.issuers\): ciProvider is missing; expected ciProvider because type is "ci-provider"/);
    const uri = { issuers: [issuer({ url: 'https://spiffe.example.com', type: 'uri' })], tenants: [] };
    expectChartError(() => fulcioConfigJson(trustedIssuers(uri)), 'CHART_PROPS_INVALID', /subjectDomain is missing; expected subjectDomain .* because type is "uri"/);
    const withDomain = fixtureConfig('oidc:\n  issuers: [{ url: https://idp.example.com, type: uri, subjectDomain: example.com }, { url: https://login.example.com, type: username, subjectDomain: example.com }]\n');
    const config = JSON.parse(fulcioConfigJson(trustedIssuers(withDomain.oidc)));
    expect(config.OIDCIssuers['https://idp.example.com'].SubjectDomain).toBe('https://example.com');
    expect(config.OIDCIssuers['https://login.example.com'].SubjectDomain).toBe('example.com');
  });

  it('every server refuses a signing key that is not encrypted, naming the construct and the prop (never the key)', () => {
    const plain = { pem: '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n', password: 'unused' };
    const cases: [string, PkiMaterial][] = [
      ['Fulcio', { ...material, fulcio: { ...material.fulcio, intermediateKey: plain } }],
      ['TimestampAuthority', { ...material, tsa: { ...material.tsa, leafKey: plain } }],
      ['Rekor', { ...material, rekor: { ...material.rekor, privateKey: plain } }],
      ['CtLog', { ...material, ctlog: { ...material.ctlog, privateKey: plain } }],
    ];
    for (const [construct, unencrypted] of cases) {
      let caught: unknown;
      try {
        buildClusterCharts(chartInput(unencrypted));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ChartError);
      const message = (caught as ChartError).message;
      expect(message).toMatch(new RegExp(`/${construct}: (caKey|signingKey) "<secret>" is invalid; expected an encrypted PEM private key`));
      expect(message).not.toContain('MHcCAQEE');
    }
  });

  it('the whole chart: errors surface from the configuration it was built from', () => {
    expectChartError(
      () => {
        const input = chartInput(material);
        const oidc = { issuers: [{ url: 'https://ci.example.com', type: 'spiffe' as const, clientId: 'sigstore' }], tenants: [], metaIssuers: [], ciProviders: {} };
        return buildClusterCharts({ ...input, config: { ...input.config, oidc } });
      },
      'CHART_OIDC_UNSUPPORTED',
      /spiffe/,
    );
  });
});

describe('the CT log config renderer (run with /bin/sh, as the init container does)', () => {
  const run = (env: Record<string, string>, path: string | undefined = process.env.PATH) => {
    const cluster = synthesizeCluster(chartInput(material));
    const spec = find(cluster.public, 'Deployment', 'ctlog').spec.template.spec;
    const template = find(cluster.public, 'ConfigMap', 'ctlog-config').data['ct_server.cfg.template'];
    const root = mkdtempSync(join(directory, 'render-'));
    mkdirSync(join(root, 'template'));
    mkdirSync(join(root, 'rendered'));
    writeFileSync(join(root, 'template', 'ct_server.cfg.template'), template);
    const [shell, flag, script] = spec.initContainers[0].command as string[];
    const local = script.replaceAll('/etc/ctlog-config', join(root, 'template')).replaceAll('/var/run/ctlog-config', join(root, 'rendered'));
    const result = spawnSync(shell, [flag, local], { env: { PATH: path ?? '', ...env }, encoding: 'utf8' });
    let rendered: string | undefined;
    try {
      rendered = readFileSync(join(root, 'rendered', 'ct_server.cfg'), 'utf8');
    } catch {
      rendered = undefined;
    }
    return { status: result.status, stderr: result.stderr, rendered };
  };

  it('substitutes the tree id and the key password, and nothing else', () => {
    const { status, rendered } = run({ TREE_ID: '4711471147114711', KEY_PASSWORD: material.ctlog.privateKey.password });
    expect(status).toBe(0);
    expect(rendered).toContain('    log_id: 4711471147114711\n');
    expect(rendered).toContain(`        password: "${material.ctlog.privateKey.password}"\n`);
    expect(rendered).not.toMatch(/@TREE_ID@|@KEY_PASSWORD@/);
  });

  it('uses shell builtins only (it renders with an empty PATH), so the password is never an argument of a process', () => {
    const { status, rendered, stderr } = run({ TREE_ID: '12', KEY_PASSWORD: material.ctlog.privateKey.password }, '');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(rendered).toContain(`        password: "${material.ctlog.privateKey.password}"\n`);
    const script: string = find(synthesizeCluster(chartInput(material)).public, 'Deployment', 'ctlog').spec.template.spec.initContainers[0].command[2];
    expect(script).not.toMatch(/\bsed\b/);
  });

  it('refuses a tree id that is not a number, and a password the config cannot carry', () => {
    const badTree = run({ TREE_ID: '12; rm -rf /', KEY_PASSWORD: 'abc' });
    expect(badTree.status).not.toBe(0);
    expect(badTree.stderr).toContain('is not a decimal Trillian tree id');
    const badPassword = run({ TREE_ID: '12', KEY_PASSWORD: 'a"b' });
    expect(badPassword.status).not.toBe(0);
    expect(badPassword.stderr).toContain('the key password holds characters the config cannot carry');
  });
});

describe('the elected signers\' tree id check (run with /bin/sh, as the init container does)', () => {
  const run = (env: Record<string, string>) => {
    const cluster = synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML));
    const [shell, flag, script] = find(cluster.public, 'Deployment', 'trillian-log-signer').spec.template.spec.initContainers[0].command as string[];
    return spawnSync(shell, [flag, script], { env: { PATH: '', ...env }, encoding: 'utf8' });
  };

  it('passes when the ConfigMaps hold the configured ids, with shell builtins only', () => {
    const result = run({ TREE_ID_0: '1234567890123456789', TREE_ID_1: '987654321098765432' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses a tree createtree made anew (another id), naming the ConfigMap and both ids', () => {
    const result = run({ TREE_ID_0: '1234567890123456789', TREE_ID_1: '42' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("ConfigMap ctlog-tree holds treeID '42', but services.trillian.treeIds names 987654321098765432");
  });
});
