import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { runCliProcess } from '../helpers/cli-process';
import { makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * The README's "Migrating a published environment" commands, run as a user runs them: the CLI as a
 * process in a copy of the project whose `test` environment has published Rekor v1 and ct_server
 * (the fixture state), with logs.rekor switched to v2 and the tree ids pinned. The processes read the
 * wall clock, so the fixture state is minted relative to now (see mintAgedFixtureState).
 */
describe('rotate rekor-log through the CLI', () => {
  const temp = useTempDirectory('sigstore-cdk-migration-cli-');
  const TREE_IDS = 'services: { trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } } }\n';

  it('rotate rekor-log --at; synth; synth --at the cut-over; verify; a second migration is pending; ct-log needs logs.ct', async () => {
    const project = makeTempProject(temp(), { testEnvYaml: `logs: { rekor: v2 }\n${TREE_IDS}` });
    await mintAgedFixtureState(project);
    const manifestFile = join(project, '.sigstore', 'test', 'manifest.json');
    // CUT_OVER=$(date -u -d '+15 days' +%Y-%m-%dT%H:%M:%SZ), as the README computes it.
    const cutOver = new Date(Date.now() + 15 * 24 * 60 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

    const rotate = await runCliProcess(['rotate', 'rekor-log', '--env', 'test', '--at', cutOver, '--overlap', '1d'], { cwd: project, timeoutMs: 120_000 });
    expect(rotate.stderr).not.toMatch(/error \[/);
    expect(rotate.code).toBe(0);
    expect(rotate.stderr).toContain(`rotated rekor-log: rekor-log g2 (rekor-v2-key); cut-over ${cutOver}, old log valid until `);
    expect(rotate.stderr).toMatch(/1\. now, the new log beside the old one: .*in-cluster URL http:\/\/rekor-tiles\.sigstore-system\.svc\).*rollout status deployment\/rekor-tiles; then publish dist\/trust\/tuf\//);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    expect(manifest.generations['rekor-log']).toEqual([expect.objectContaining({ generation: 2, itemId: 'rekor-v2-key' })]);

    const objects = (dir: string) => parseAllDocuments(readFileSync(join(project, dir, 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJS() as any);
    const named = (dir: string, kind: string) => objects(dir).filter((object) => object.kind === kind).map((object) => object.metadata.name);
    const synth = await runCliProcess(['synth', '--env', 'test'], { cwd: project, timeoutMs: 120_000 });
    expect(synth.stderr).not.toMatch(/error \[/);
    expect(synth.code).toBe(0);
    expect(named('dist', 'Deployment')).toEqual(expect.arrayContaining(['rekor', 'rekor-redis', 'rekor-tiles', 'trillian-log-server']));
    expect(named('dist', 'Job')).not.toContain('rekor-freeze');
    const trustedRoot = JSON.parse(readFileSync(join(project, 'dist', 'trust', 'trusted_root.json'), 'utf8'));
    expect(trustedRoot.tlogs.map((log: any) => [log.baseUrl, log.publicKey.keyDetails, log.publicKey.validFor.end !== undefined])).toEqual([
      ['http://rekor.sigstore-system.svc', 'PKIX_ECDSA_P256_SHA_256', true],
      ['http://rekor-tiles.sigstore-system.svc', 'PKIX_ED25519', false],
    ]);

    const atCutOver = await runCliProcess(['synth', '--env', 'test', '--at', cutOver, '--out', 'dist-cut-over'], { cwd: project, timeoutMs: 120_000 });
    expect(atCutOver.stderr).not.toMatch(/error \[/);
    expect(atCutOver.code).toBe(0);
    expect(named('dist-cut-over', 'Job')).toContain('rekor-freeze');
    expect(named('dist-cut-over', 'Deployment')).toEqual(expect.arrayContaining(['rekor', 'rekor-tiles']));

    const verify = await runCliProcess(['verify', '--env', 'test'], { cwd: project, timeoutMs: 120_000 });
    expect(verify.stderr).not.toMatch(/error \[/);
    expect(verify.code).toBe(0);

    const before = readFileSync(manifestFile);
    const again = await runCliProcess(['rotate', 'rekor-log', '--env', 'test', '--at', cutOver], { cwd: project, timeoutMs: 120_000 });
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/error \[STATE_ROTATION_PENDING\]: rekor-log: the migration to Rekor v2 \(rekor-tiles\) takes over at/);
    const ct = await runCliProcess(['rotate', 'ct-log', '--env', 'test', '--at', cutOver], { cwd: project, timeoutMs: 120_000 });
    expect(ct.code).toBe(2);
    expect(ct.stderr).toMatch(/error \[CONFIG_INVALID\]: rotate ct-log: logs\.ct is "trillian"; .*set logs\.ct: tesseract first \(accepted: "tesseract"\)/);
    // Back to Rekor v1: refused, naming the field; nothing written.
    const envFile = join(project, 'envs', 'test.yaml');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('logs: { rekor: v2 }', 'logs: { rekor: v1 }'));
    const back = await runCliProcess(['synth', '--env', 'test'], { cwd: project, timeoutMs: 120_000 });
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(/error \[CONFIG_INVALID\]: logs\.rekor "v1": the state migrated this log/);
    expect(readFileSync(manifestFile)).toEqual(before);
  }, 300_000);
});
