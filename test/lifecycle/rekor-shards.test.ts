import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRotate } from '../../lib/commands/rotate';
import { parseDuration } from '../../lib/config/duration';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { readTufRepository } from '../../lib/trust/tuf/repository';
import { runVerify } from '../../lib/verify';
import { chartInput, find, synthesizeCluster } from '../k8s/cluster-fixture';
import { referenceProblems, securityProblems } from '../k8s/manifest-checks';
import { schemaErrors } from '../k8s/kubernetes-schema';
import { fixedClock } from '../helpers/config';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

const PINNED = 'services:\n  trillian:\n    treeIds: { rekor: "1111111111111111111", ctlog: "2222222222222222222" }\n';
const CT_PINNED_ALL = 'services:\n  trillian:\n    treeIds: { rekor: "1111111111111111111", ctlog: "2222222222222222222" }\n';
const PINNED_WITH_SHARD = 'services:\n  trillian:\n    treeIds: { rekor: "1111111111111111111", ctlog: "2222222222222222222", rekorShards: ["3333333333333333333"] }\n';

/*
 * `rotate rekor-key` starts a new Rekor shard: a new key and Trillian tree; at the cut-over Rekor
 * writes to the new tree, lists the old one in --trillian_log_server.sharding_config, and the old
 * tree is frozen (scaffolding updatetree). trusted_root.json lists both logs with their validFor.
 */
describe('rotate rekor-key: a new log shard', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  const rotate = (extraYaml: string) =>
    runRotate({
      config: fixtureConfig(extraYaml),
      item: 'rekor-key',
      stateRoot,
      clock: fixedClock('2026-06-01T00:00:00Z'),
      at: new Date('2026-06-20T00:00:00Z'),
      overlap: parseDuration('1d'),
      rootKeys: new LocalRootKeys(),
    });

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
  });

  it('refuses while the current tree id is not pinned; nothing is written', async () => {
    const manifest = readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'));
    await expect(rotate('')).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining("services.trillian.treeIds.rekor (kubectl -n sigstore-system get configmap rekor-tree -o jsonpath='{.data.treeID}')") }),
    );
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'))).toEqual(manifest);
  });

  it('publishes both logs, creates the new tree ahead, and switches Rekor to it at the cut-over with the old shard frozen', async () => {
    const result = await rotate(PINNED);
    expect(result.generations).toEqual([expect.objectContaining({ item: 'rekor-key', generation: 2, itemId: 'rekor-key-g2' })]);
    const snapshot = await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load();
    const repository = readTufRepository(snapshot);
    const file = repository.targets.signed.targets['trusted_root.json'];
    const trustedRoot = JSON.parse(repository.files.get(`targets/${file.hashes.sha256}.trusted_root.json`)!.toString('utf8'));
    expect(trustedRoot.tlogs.map((log: { publicKey: { validFor: object } }) => log.publicKey.validFor)).toEqual([
      { start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' },
      { start: '2026-06-01T00:00:00Z' },
    ]);
    expect(trustedRoot.tlogs[0].logId.keyId).not.toBe(trustedRoot.tlogs[1].logId.keyId);
    expect(Object.keys(repository.targets.signed.targets)).toEqual(expect.arrayContaining(['rekor.pub', 'rekor_g2.pub']));
    expect((await runVerify({ config: fixtureConfig(PINNED), stateRoot, offline: true, clock: fixedClock('2026-06-02T00:00:00Z') })).problems).toEqual([]);

    // Before the cut-over: Rekor on the old tree and key, the new tree is created ahead.
    const before = synthesizeCluster(chartInput(await readPkiMaterial(snapshot, { at: new Date('2026-06-19T00:00:00Z') }), PINNED));
    expect(find(before.public, 'ConfigMap', 'rekor-g2-tree').data).not.toHaveProperty('treeID');
    expect(find(before.public, 'ConfigMap', 'rekor-tree').data.treeID).toBe('1111111111111111111');
    const rekorBefore = find(before.public, 'Deployment', 'rekor').spec.template.spec.containers[0];
    expect(rekorBefore.args.some((arg: string) => arg.startsWith('--trillian_log_server.sharding_config'))).toBe(false);
    expect(rekorBefore.env.find((variable: { name: string }) => variable.name === 'TREE_ID').valueFrom.configMapKeyRef.name).toBe('rekor-tree');
    expect(before.public.some((object) => object.kind === 'Job' && object.metadata.name === 'rekor-freeze')).toBe(false);

    // From the cut-over: the new tree, the old shard in the sharding config (a Secret), the old tree frozen.
    const material = await readPkiMaterial(snapshot, { at: new Date('2026-06-20T00:00:00Z') });
    const after = synthesizeCluster(chartInput(material, PINNED_WITH_SHARD));
    expect(find(after.public, 'ConfigMap', 'rekor-g2-tree').data.treeID).toBe('3333333333333333333');
    const rekor = find(after.public, 'Deployment', 'rekor').spec.template.spec;
    const container = rekor.containers[0];
    expect(container.args).toContain('--trillian_log_server.sharding_config=/var/run/rekor-shards/sharding.yaml');
    expect(container.env.find((variable: { name: string }) => variable.name === 'TREE_ID').valueFrom.configMapKeyRef.name).toBe('rekor-g2-tree');
    expect(container.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: '/var/run/rekor-shards', readOnly: true })]));
    const shards = find(after.secrets, 'Secret', 'rekor-shards');
    const oldKey = material.inactiveLogKeys.rekor[0].privateKey;
    expect(shards.stringData['sharding.yaml']).toBe(
      [
        '- treeID: 1111111111111111111',
        '  treeLength: 0',
        '  signingConfig:',
        '    signingSchemeOrKeyPath: /var/run/rekor-shards/shard-g1.pem',
        `    fileSignerPassword: "${oldKey.password}"`,
        '',
      ].join('\n'),
    );
    expect(shards.stringData['shard-g1.pem']).toBe(oldKey.pem);
    expect(find(after.secrets, 'Secret', 'rekor-signer').stringData['signing-key.pem']).toBe(material.rekor.privateKey.pem);
    const freeze = find(after.public, 'Job', 'rekor-freeze').spec.template.spec.containers[0];
    expect(freeze.args).toEqual(['--tree_id=1111111111111111111', '--tree_state=FROZEN', expect.stringMatching(/^--admin_server=.+:\d+$/)]);
    expect(freeze.image).toMatch(/^ghcr\.io\/sigstore\/scaffolding\/updatetree:v0\.7\.31@sha256:66f47d58/);
    // No key password in the public manifest; every reference resolves; Kubernetes schemas and pod security hold.
    const publicText = after.files.find((output) => output.path === 'sigstore.k8s.yaml')!.content;
    expect(publicText).not.toContain(oldKey.password);
    expect(referenceProblems([...after.public, ...after.secrets])).toEqual([]);
    expect(securityProblems(after.public)).toEqual([]);
    expect([...after.public, ...after.secrets].flatMap((object) => schemaErrors(object))).toEqual([]);
  });

  it('refuses a second shard rotation while the previous shard tree is not pinned', async () => {
    await rotate(PINNED);
    await expect(
      runRotate({ config: fixtureConfig(PINNED), item: 'rekor-key', stateRoot, clock: fixedClock('2026-07-01T00:00:00Z'), at: new Date('2026-07-20T00:00:00Z'), rootKeys: new LocalRootKeys() }),
    ).rejects.toThrow(expect.objectContaining({ message: expect.stringContaining('services.trillian.treeIds.rekorShards[0] (kubectl -n sigstore-system get configmap rekor-g2-tree') }));
  });
});

describe('rotate ctlog-key: a new CT log shard under its own prefix', () => {
  const temp = useTempDirectory();
  const CT_PINNED = 'services:\n  trillian:\n    treeIds: { rekor: "1111111111111111111", ctlog: "2222222222222222222" }\n';

  it('serves the old shard read-only under the old prefix, the new one under <prefix>-g2; Fulcio submits to the new one from the cut-over', async () => {
    const stateRoot = copyFixtureState(temp());
    const config = fixtureConfig(CT_PINNED);
    const result = await runRotate({ config, item: 'ctlog-key', stateRoot, clock: fixedClock('2026-06-01T00:00:00Z'), at: new Date('2026-06-20T00:00:00Z'), rootKeys: new LocalRootKeys() });
    expect(result.generations).toEqual([expect.objectContaining({ item: 'ctlog-key', generation: 2 })]);
    expect(result.deploy[1]).toContain('which rolls deployment/ctlog and deployment/fulcio');
    expect(result.deploy[1]).toContain('kubectl -n sigstore-system rollout status deployment/ctlog; kubectl -n sigstore-system rollout status deployment/fulcio');
    const snapshot = await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load();
    const repository = readTufRepository(snapshot);
    const file = repository.targets.signed.targets['trusted_root.json'];
    const trustedRoot = JSON.parse(repository.files.get(`targets/${file.hashes.sha256}.trusted_root.json`)!.toString('utf8'));
    expect(trustedRoot.ctlogs.map((log: { baseUrl: string; publicKey: { validFor: object } }) => [log.baseUrl, log.publicKey.validFor])).toEqual([
      ['http://ctlog.sigstore-system.svc/sigstore', { start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' }],
      ['http://ctlog.sigstore-system.svc/sigstore-g2', { start: '2026-06-01T00:00:00Z' }],
    ]);

    const material = await readPkiMaterial(snapshot, { at: new Date('2026-06-20T00:00:00Z') });
    const cluster = synthesizeCluster(chartInput(material, CT_PINNED));
    const template: string = find(cluster.public, 'ConfigMap', 'ctlog-config').data['ct_server.cfg.template'];
    expect(template).toContain('    log_id: @TREE_ID@\n    prefix: "sigstore-g2"');
    expect(template).toContain('    log_id: 2222222222222222222\n    prefix: "sigstore"');
    expect(template).toContain('        path: "/var/run/ctlog-shards/shard-g1.pem"\n        password: "@KEY_PASSWORD_G1@"');
    expect(template.match(/is_readonly: true/g)).toHaveLength(1);
    const oldKey = material.inactiveLogKeys.ctlog[0].privateKey;
    expect(template).not.toContain(oldKey.password);
    const spec = find(cluster.public, 'Deployment', 'ctlog').spec.template.spec;
    const render = spec.initContainers[0];
    expect(render.env.find((variable: { name: string }) => variable.name === 'TREE_ID').valueFrom.configMapKeyRef.name).toBe('ctlog-g2-tree');
    expect(render.env.find((variable: { name: string }) => variable.name === 'SHARD_G1_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'ctlog-shards', key: 'shard-g1.password' });
    expect(find(cluster.secrets, 'Secret', 'ctlog-shards').stringData).toEqual({ 'shard-g1.pem': oldKey.pem, 'shard-g1.password': oldKey.password });
    const fulcio = find(cluster.public, 'Deployment', 'fulcio').spec.template.spec.containers[0];
    expect(fulcio.args).toContain('--ct-log-url=http://ctlog.sigstore-system.svc/sigstore-g2');
    expect(find(cluster.public, 'Job', 'ctlog-freeze').spec.template.spec.containers[0].args[0]).toBe('--tree_id=2222222222222222222');
    expect(referenceProblems([...cluster.public, ...cluster.secrets])).toEqual([]);
    expect([...cluster.public, ...cluster.secrets].flatMap((object) => schemaErrors(object))).toEqual([]);

    // The render script, run by a real shell on the template: both passwords substituted, nothing else changed.
    const root = join(temp(), 'render');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'run'), { recursive: true });
    writeFileSync(join(root, 'etc', 'ct_server.cfg.template'), template);
    const script = (render.command[2] as string).replaceAll('/etc/ctlog-config', join(root, 'etc')).replaceAll('/var/run/ctlog-config', join(root, 'run'));
    const run = spawnSync('/bin/sh', ['-c', script], { env: { TREE_ID: '4444444444444444444', KEY_PASSWORD: material.ctlog.privateKey.password, SHARD_G1_PASSWORD: oldKey.password }, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const rendered = readFileSync(join(root, 'run', 'ct_server.cfg'), 'utf8');
    expect(rendered).toContain('    log_id: 4444444444444444444\n    prefix: "sigstore-g2"');
    expect(rendered).toContain(`        password: "${oldKey.password}"`);
    expect(rendered).toContain(`        password: "${material.ctlog.privateKey.password}"`);
    expect(rendered).not.toContain('@');
  });
});

describe('rotate of a tile-based log key', () => {
  const temp = useTempDirectory();

  it.each([
    ['rekor-key', 'logs:\n  rekor: v2\n', 'the Rekor log is Rekor v2 (logs.rekor: v2), a tile-based log with one key'],
    ['ctlog-key', 'logs:\n  ct: tesseract\n', 'the CT log is TesseraCT (logs.ct: tesseract), a tile-based log with one key'],
  ] as const)('%s is refused: log shards are for the Trillian-backed logs', async (item, yaml, message) => {
    const stateRoot = copyFixtureState(temp());
    await expect(
      runRotate({ config: fixtureConfig(`${yaml}${CT_PINNED_ALL}`), item, stateRoot, clock: fixedClock('2026-06-01T00:00:00Z'), at: new Date('2026-06-20T00:00:00Z'), rootKeys: new LocalRootKeys() }),
    ).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) }));
  });
});
