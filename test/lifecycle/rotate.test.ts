import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRotate } from '../../lib/commands/rotate';
import { parseDuration } from '../../lib/config/duration';
import { ConfigError, StateError } from '../../lib/errors';
import { LocalRootKeys, type RootKeyProvider } from '../../lib/pki/root-keys';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { readTufRepository } from '../../lib/trust/tuf/repository';
import { runVerify } from '../../lib/verify';
import { fixedClock } from '../helpers/config';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { opensslOk } from '../helpers/openssl';
import { useTempDirectory } from '../helpers/temp-directory';
import { parseAllDocuments } from 'yaml';
import * as x509 from '@peculiar/x509';
import { chartInput, find, synthesizeCluster } from '../k8s/cluster-fixture';
import { withTileLogKeys } from '../helpers/tile-log-fixture';

/** The certificates of a PEM bundle, each as base64 DER, in order. */
const rootsOf = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!.map((block) => new x509.X509Certificate(block).toString('base64'));

/* The fixture state was minted on 2026-01-01; every rotation below runs at an injected time. */
const ROTATED_AT = '2026-06-01T00:00:00Z';
const CUT_OVER = new Date('2026-06-20T00:00:00Z');

/** A root key provider that fails the test if a root key is asked for. */
const NO_ROOT_KEYS: RootKeyProvider = {
  description: 'no root keys (the test forbids them)',
  signerFor: async (root) => {
    throw new Error(`the ${root} root key was asked for`);
  },
};

describe('rotate: renewal under the same root', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  const config = fixtureConfig();
  const store = () => new StateStore({ root: stateRoot, env: FIXTURE_ENV });
  const trustedRoot = async () => {
    const repository = readTufRepository(await store().load());
    const file = repository.targets.signed.targets['trusted_root.json'];
    return JSON.parse(repository.files.get(`targets/${file.hashes.sha256}.trusted_root.json`)!.toString('utf8'));
  };
  const rotate = (item: 'tsa-leaf' | 'fulcio-intermediate' | 'tsa-intermediate', extra: Partial<Parameters<typeof runRotate>[0]> = {}) =>
    runRotate({ config, item, stateRoot, clock: fixedClock(ROTATED_AT), at: CUT_OVER, overlap: parseDuration('1d'), rootKeys: new LocalRootKeys(), ...extra });

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
  });

  it('tsa-leaf: a new generation under the same intermediate, no root key, the old one kept; trusted_root.json lists both', async () => {
    const oldLeaf = readFileSync(join(stateRoot, FIXTURE_ENV, 'tsa/leaf.crt.pem'));
    const result = await rotate('tsa-leaf', { rootKeys: NO_ROOT_KEYS });
    expect(result.generations).toEqual([
      { item: 'tsa-leaf', generation: 2, itemId: 'tsa-leaf-g2', activeFrom: '2026-06-20T00:00:00.000Z', previousValidUntil: '2026-06-21T00:00:00.000Z' },
    ]);
    expect(result.activeFrom).toBe('2026-06-20T00:00:00Z');
    expect(result.previousValidUntil).toBe('2026-06-21T00:00:00Z');
    expect(result.stateWritten).toBe(true);
    expect(result.published.map((entry) => [entry.role, entry.reason])).toEqual(
      expect.arrayContaining([['targets', 'trust material changed']]),
    );
    expect(result.deploy).toHaveLength(3);
    expect(result.deploy[0]).toMatch(/^1\. now, the trust: sigstore-cdk synth --env test; publish dist\/trust\/tuf\//);
    expect(result.deploy[1]).toContain('2. at 2026-06-20T00:00:00Z or later, the server switch: sigstore-cdk synth --env test --at 2026-06-20T00:00:00Z');
    expect(result.deploy[1]).toContain('which rolls deployment/tsa');
    expect(result.deploy[1]).toContain('kubectl -n sigstore-system rollout status deployment/tsa');

    // The old generation is never touched; the new one has its own files and manifest record.
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'tsa/leaf.crt.pem'))).toEqual(oldLeaf);
    const manifest = JSON.parse(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8'));
    expect(manifest.format).toBe('sigstore-cdk/state/v2');
    expect(manifest.generations).toEqual({
      'tsa-leaf': [{ generation: 2, itemId: 'tsa-leaf-g2', activeFrom: '2026-06-20T00:00:00.000Z', previousValidUntil: '2026-06-21T00:00:00.000Z', issuerGeneration: 1 }],
    });
    expect(manifest.items['tsa-leaf-g2'].files).toEqual({ certificate: 'tsa/g2/leaf.crt.pem', privateKey: 'tsa/g2/leaf.key.pem', password: 'tsa/g2/leaf.key.password' });
    expect(manifest.items['tsa-leaf-g2'].signedBy).toBe('local:tsa/intermediate.key.pem');

    // trusted_root.json (as TUF publishes it): the old entry ends at the cut-over plus the overlap, the new one starts now.
    const root = await trustedRoot();
    expect(root.timestampAuthorities).toHaveLength(2);
    expect(root.timestampAuthorities[0].validFor).toEqual({ start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' });
    expect(root.timestampAuthorities[1].validFor).toEqual({ start: '2026-06-01T00:00:00Z', end: '2028-06-01T00:00:00Z' });
    expect(root.timestampAuthorities[1].certChain.certificates[1]).toEqual(root.timestampAuthorities[0].certChain.certificates[1]);
    expect(root.certificateAuthorities).toHaveLength(1);
    const repository = readTufRepository(await store().load());
    expect(Object.keys(repository.targets.signed.targets)).toEqual(expect.arrayContaining(['tsa_leaf.crt.pem', 'tsa_leaf_g2.crt.pem']));

    // Servers switch at the cut-over: the material (what synth renders) is the old leaf before it, the new one from it.
    const snapshot = await store().load();
    const before = await readPkiMaterial(snapshot, { at: new Date('2026-06-19T23:59:59Z') });
    const after = await readPkiMaterial(snapshot, { at: CUT_OVER });
    expect(before.activeGenerations['tsa-leaf']).toBe(1);
    expect(after.activeGenerations['tsa-leaf']).toBe(2);
    expect(after.tsa.leaf.serialNumber).not.toBe(before.tsa.leaf.serialNumber);
    expect(after.tsa.leaf.notBefore.toISOString()).toBe('2026-06-01T00:00:00.000Z');

    // The state still verifies (custody, chains, TUF), and lists both generations with their expiry.
    const verified = await runVerify({ config, stateRoot, offline: true, clock: fixedClock('2026-06-02T00:00:00Z') });
    expect(verified.problems).toEqual([]);
    expect(verified.expiry.filter((entry) => entry.item === 'tsa-leaf').map((entry) => [entry.source, entry.generation, entry.inUse])).toEqual([
      ['certificate tsa/leaf.crt.pem', 1, true],
      ['certificate tsa/g2/leaf.crt.pem', 2, true],
      ['trusted_root.json timestampAuthorities[0].validFor', 1, false],
      ['trusted_root.json timestampAuthorities[1].validFor', 2, true],
    ]);
    const later = await runVerify({ config, stateRoot, offline: true, clock: fixedClock('2026-06-25T00:00:00Z') });
    expect(later.expiry.find((entry) => entry.source === 'certificate tsa/leaf.crt.pem')).toMatchObject({ inUse: false, status: 'superseded' });
  });

  it('synth renders the TSA Secret of the generation active at --at', async () => {
    await rotate('tsa-leaf');
    const snapshot = await store().load();
    // The Secret holds the key's password as it is; each generation has its own (fixture material, never a real secret).
    const [oldKey, newKey] = ['tsa/leaf.key.password', 'tsa/g2/leaf.key.password'].map((path) => readFileSync(join(stateRoot, FIXTURE_ENV, path), 'utf8'));
    const secretsAt = async (at: string, name: string) => {
      const outDir = join(temp(), name);
      await synth({ config, stateRoot, outDir, cloudOutDir: join(temp(), `${name}-cloud`), clock: fixedClock('2026-06-02T00:00:00Z'), at: new Date(at), projectRoot: temp() });
      const objects = parseAllDocuments(readFileSync(join(outDir, 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJSON());
      const annotations = (name: string) => objects.find((object) => object?.kind === 'Deployment' && object.metadata.name === name).spec.template.metadata.annotations;
      const secretsText = readFileSync(join(outDir, 'sigstore.secrets.k8s.yaml'), 'utf8');
      return {
        secrets: secretsText,
        // Parsed, not matched as text: YAML quotes a password that starts with "-" (1 in 64 random ones).
        passwords: parseAllDocuments(secretsText).flatMap((document) => Object.entries((document.toJSON()?.stringData ?? {}) as Record<string, string>)).filter(([key]) => key === 'password').map(([, value]) => value),
        trustedRoot: readFileSync(join(outDir, 'trust/trusted_root.json'), 'utf8'),
        tsaChain: rootsOf(readFileSync(join(outDir, 'trust/tsa-chain.pem'), 'utf8')),
        checksums: { tsa: annotations('tsa')['sigstore-cdk/inputs-sha256'], fulcio: annotations('fulcio')['sigstore-cdk/inputs-sha256'] },
      };
    };
    const before = await secretsAt('2026-06-19T00:00:00Z', 'before');
    const after = await secretsAt('2026-06-20T00:00:00Z', 'after');
    // Applying the cut-over's manifests rolls the TSA (its Secret changed) and nothing else here.
    expect(after.checksums.tsa).not.toBe(before.checksums.tsa);
    expect(after.checksums.fulcio).toBe(before.checksums.fulcio);
    expect(before.passwords).toContain(oldKey);
    expect(before.secrets).not.toContain(newKey);
    expect(after.passwords).toContain(newKey);
    expect(after.secrets).not.toContain(oldKey);
    // The TSA chain the server loads (dist/trust/tsa-chain.pem) is the active generation's: the old leaf before the cut-over, the new one from it.
    const leafOf = (path: string) => new x509.X509Certificate(readFileSync(join(stateRoot, FIXTURE_ENV, path), 'utf8')).toString('base64');
    expect(before.tsaChain[0]).toBe(leafOf('tsa/leaf.crt.pem'));
    expect(after.tsaChain[0]).toBe(leafOf('tsa/g2/leaf.crt.pem'));
    expect(after.tsaChain.slice(1)).toEqual(before.tsaChain.slice(1));
    // The trust outputs do not depend on the time: both list both generations.
    expect(after.trustedRoot).toBe(before.trustedRoot);
    expect(snapshot.generationRecords('tsa-leaf')).toHaveLength(1);
  });

  it('fulcio-intermediate: one signature by the root key (in the ceremony log); tsa-intermediate brings a new leaf', async () => {
    const fulcio = await rotate('fulcio-intermediate');
    expect(fulcio.generations.map((generation) => generation.itemId)).toEqual(['fulcio-intermediate-g2']);
    const log = readFileSync(join(stateRoot, FIXTURE_ENV, 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.filter((record) => record.kind === 'sign-intent').at(-1)).toMatchObject({ purpose: 'fulcio-intermediate-g2 certificate', keyRef: 'local:signer/fulcio-root.key.pem' });

    const tsa = await rotate('tsa-intermediate');
    expect(tsa.generations.map((generation) => [generation.itemId, generation.generation])).toEqual([
      ['tsa-intermediate-g2', 2],
      ['tsa-leaf-g2', 2],
    ]);
    const snapshot = await store().load();
    expect(snapshot.generationRecords('tsa-leaf')[0].issuerGeneration).toBe(2);
    const root = await trustedRoot();
    expect(root.certificateAuthorities.map((entry: { validFor: object }) => entry.validFor)).toEqual([
      { start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' },
      { start: '2026-06-01T00:00:00Z', end: '2031-06-01T00:00:00Z' },
    ]);
    expect(root.timestampAuthorities[1].certChain.certificates[1]).not.toEqual(root.timestampAuthorities[0].certChain.certificates[1]);
    expect((await runVerify({ config, stateRoot, offline: true, clock: fixedClock('2026-06-02T00:00:00Z') })).problems).toEqual([]);

    // openssl verifies every generation's chain.
    const dir = join(stateRoot, FIXTURE_ENV);
    const verifyChain = (leaf: string, untrusted: string[], rootPath: string) => {
      const bundle = join(temp(), 'untrusted.pem');
      writeFileSync(bundle, untrusted.map((path) => readFileSync(join(dir, path), 'utf8')).join(''));
      return opensslOk(['verify', '-attime', String(Date.parse('2026-06-02T00:00:00Z') / 1000), '-CAfile', join(dir, rootPath), ...(untrusted.length ? ['-untrusted', bundle] : []), join(dir, leaf)]);
    };
    expect(verifyChain('fulcio/intermediate.crt.pem', [], 'fulcio/root.crt.pem')).toContain(': OK');
    expect(verifyChain('fulcio/g2/intermediate.crt.pem', [], 'fulcio/root.crt.pem')).toContain(': OK');
    expect(verifyChain('tsa/leaf.crt.pem', ['tsa/intermediate.crt.pem'], 'tsa/root.crt.pem')).toContain(': OK');
    expect(verifyChain('tsa/g2/leaf.crt.pem', ['tsa/g2/intermediate.crt.pem'], 'tsa/root.crt.pem')).toContain(': OK');
  });

  it('refuses a second rotation before the first cut-over, a cut-over in the past, and items this build cannot rotate; nothing is written', async () => {
    await rotate('tsa-leaf');
    const manifest = readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'));
    await expect(rotate('tsa-leaf')).rejects.toThrow(
      expect.objectContaining({ code: 'STATE_ROTATION_PENDING', message: expect.stringContaining('tsa-leaf generation 2 (tsa-leaf-g2) takes over at 2026-06-20T00:00:00Z') }),
    );
    await expect(rotate('tsa-intermediate')).rejects.toBeInstanceOf(StateError);
    await expect(rotate('fulcio-intermediate', { at: new Date('2026-05-01T00:00:00Z') })).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('--at 2026-05-01T00:00:00.000Z is in the past') }),
    );
    // A log shard needs its current tree pinned first.
    await expect(runRotate({ config, item: 'ctlog-key', stateRoot })).rejects.toThrow(expect.objectContaining({ message: expect.stringContaining('services.trillian.treeIds.ctlog') }));
    // tuf-root is rotateTufRoot's (the CLI dispatches it there), never runRotate's.
    await expect(runRotate({ config, item: 'tuf-root', stateRoot })).rejects.toThrow(expect.objectContaining({ message: expect.stringContaining('rotated by rotateTufRoot') }));
    await expect(runRotate({ config, item: 'tuf-root', stateRoot })).rejects.toBeInstanceOf(ConfigError);
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'))).toEqual(manifest);
    // After the cut-over, the next rotation is allowed: generation 3.
    const third = await rotate('tsa-leaf', { clock: fixedClock('2026-07-01T00:00:00Z'), at: new Date('2026-07-15T00:00:00Z') });
    expect(third.generations[0]).toMatchObject({ generation: 3, itemId: 'tsa-leaf-g3' });
    const root = await trustedRoot();
    expect(root.timestampAuthorities.map((entry: { validFor: { end: string } }) => entry.validFor.end)).toEqual([
      '2026-06-21T00:00:00Z',
      '2026-07-16T00:00:00Z',
      '2028-07-01T00:00:00Z',
    ]);
  });
});

describe('rotate: a cut-over after the generation in use expires', () => {
  const temp = useTempDirectory();
  const config = fixtureConfig();

  it('is refused before anything is written (servers would sign with an expired certificate until then); a cut-over before the expiry is taken, with the early cut-over warning', async () => {
    // (The TUF root is due by then: rotate re-signs it, hence the local root keys.) The fixture's TSA leaf expires 2028-01-01; the default cut-over (now plus the TUF timestamp's 14 days) would be 2028-01-08.
    const stateRoot = copyFixtureState(temp());
    const manifest = readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'));
    const late = await runRotate({ config, item: 'tsa-leaf', stateRoot, clock: fixedClock('2027-12-25T00:00:00Z'), rootKeys: new LocalRootKeys() }).catch((error: Error) => error);
    expect(late).toBeInstanceOf(ConfigError);
    expect(late).toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message:
        'rotate tsa-leaf: servers use tsa-leaf g1 (tsa/leaf.crt.pem) until the cut-over 2028-01-08T00:00:00Z (the default: now plus tuf.expiry.timestamp 14d), ' +
        'but it expires 2028-01-01T00:00:00Z: they would sign with an expired certificate in between; choose --at 2028-01-01T00:00:00Z or earlier (nothing was changed)',
    });
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'))).toEqual(manifest);
    // A TSA intermediate rotation also replaces the leaf: the same check, on the leaf (the intermediate lives until 2031).
    await expect(
      runRotate({ config, item: 'tsa-intermediate', stateRoot, clock: fixedClock('2027-12-25T00:00:00Z'), at: new Date('2028-01-02T00:00:00Z'), rootKeys: new LocalRootKeys() }),
    ).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('servers use tsa-leaf g1 (tsa/leaf.crt.pem) until the cut-over 2028-01-02T00:00:00Z (--at)') }));
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'))).toEqual(manifest);

    const inTime = await runRotate({ config, item: 'tsa-leaf', stateRoot, clock: fixedClock('2027-12-25T00:00:00Z'), at: new Date('2027-12-31T00:00:00Z'), rootKeys: new LocalRootKeys() });
    expect(inTime.generations).toEqual([expect.objectContaining({ item: 'tsa-leaf', generation: 2 })]);
    expect(inTime.warnings).toEqual([expect.stringContaining('the cut-over 2027-12-31T00:00:00Z comes before the current TUF timestamp expires for clients')]);
  });

  it('a generation that has already expired is the recovery case: the rotation is taken, with a warning to cut over at once', async () => {
    const stateRoot = copyFixtureState(temp());
    const late = await runRotate({ config, item: 'tsa-leaf', stateRoot, clock: fixedClock('2028-01-02T00:00:00Z'), at: new Date('2028-01-02T00:00:00Z'), rootKeys: new LocalRootKeys() });
    expect(late.generations).toEqual([expect.objectContaining({ item: 'tsa-leaf', generation: 2 })]);
    expect(late.warnings).toEqual(
      expect.arrayContaining([
        'tsa-leaf g1 (tsa/leaf.crt.pem) expired 2028-01-01T00:00:00Z and servers use it until the cut-over 2028-01-02T00:00:00Z: deploy the cut-over (step 2) as soon as the trust is published',
      ]),
    );
  });
});

describe('rotate: a new root (local signer)', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  const config = fixtureConfig();
  const dir = () => join(stateRoot, FIXTURE_ENV);

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
  });

  it('fulcio-root: a new root key (generation 2), a new root and intermediate; the CT log accepts both roots during the overlap', async () => {
    const result = await runRotate({ config, item: 'fulcio-root', stateRoot, clock: fixedClock(ROTATED_AT), at: CUT_OVER, overlap: parseDuration('7d'), rootKeys: new LocalRootKeys() });
    expect(result.generations.map((generation) => generation.itemId)).toEqual(['fulcio-root-g2', 'fulcio-intermediate-g2']);
    const manifest = JSON.parse(readFileSync(join(dir(), 'manifest.json'), 'utf8'));
    const pin = manifest.generations['fulcio-root'][0].rootKey;
    expect(pin.keyRef).toBe('local:signer/g2/fulcio-root.key.pem');
    expect(pin.spkiSha256).not.toBe(manifest.rootKeys.fulcio.spkiSha256);
    expect(manifest.items['fulcio-intermediate-g2'].signedBy).toBe('local:signer/g2/fulcio-root.key.pem');
    expect(manifest.generations['fulcio-intermediate'][0].issuerGeneration).toBe(2);
    // The ceremony log holds both signatures of the new key.
    const log = readFileSync(join(dir(), 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.filter((record) => record.kind === 'sign-intent').slice(-2).map((record) => [record.purpose, record.keyRef, record.keySpki])).toEqual([
      ['fulcio-root-g2 certificate', pin.keyRef, pin.spkiSha256],
      ['fulcio-intermediate-g2 certificate', pin.keyRef, pin.spkiSha256],
    ]);
    // Custody (pins, ceremony log) and chains of every generation hold.
    expect((await runVerify({ config, stateRoot, offline: true, clock: fixedClock('2026-06-02T00:00:00Z') })).problems).toEqual([]);
    const attime = String(Date.parse('2026-06-02T00:00:00Z') / 1000);
    expect(opensslOk(['verify', '-attime', attime, '-CAfile', join(dir(), 'fulcio/root.crt.pem'), join(dir(), 'fulcio/intermediate.crt.pem')])).toContain(': OK');
    expect(opensslOk(['verify', '-attime', attime, '-CAfile', join(dir(), 'fulcio/g2/root.crt.pem'), join(dir(), 'fulcio/g2/intermediate.crt.pem')])).toContain(': OK');
    // Not cross-signed: the new intermediate does not chain to the old root.
    expect(() => opensslOk(['verify', '-attime', attime, '-CAfile', join(dir(), 'fulcio/root.crt.pem'), join(dir(), 'fulcio/g2/intermediate.crt.pem')])).toThrow();

    // The CT log's roots_pem_file: both roots until the old validFor ends (cut-over + 7d), then only the new one.
    const ctRootsAt = async (at: string, name: string) => {
      const outDir = join(temp(), name);
      await synth({ config, stateRoot, outDir, cloudOutDir: join(temp(), `${name}-cloud`), clock: fixedClock('2026-06-02T00:00:00Z'), at: new Date(at), projectRoot: temp() });
      const documents = parseAllDocuments(readFileSync(join(outDir, 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJSON());
      const ctConfig = documents.find((document) => document?.kind === 'ConfigMap' && document.metadata.name === 'ctlog-config');
      return { roots: rootsOf(ctConfig.data['roots.pem']), trustedRoot: JSON.parse(readFileSync(join(outDir, 'trust/trusted_root.json'), 'utf8')) };
    };
    const [oldRoot, newRoot] = ['fulcio/root.crt.pem', 'fulcio/g2/root.crt.pem'].map((path) => new x509.X509Certificate(readFileSync(join(dir(), path), 'utf8')).toString('base64'));
    // Already before the cut-over (what "synth" deploys now): the CT log must accept the new root before Fulcio switches to it.
    expect((await ctRootsAt('2026-06-02T00:00:00Z', 'ahead')).roots).toEqual([oldRoot, newRoot]);
    const during = await ctRootsAt('2026-06-22T00:00:00Z', 'during');
    // The two Fulcio roots themselves (not, say, a root and an intermediate).
    expect(during.roots).toEqual([oldRoot, newRoot]);
    expect((await ctRootsAt('2026-06-28T00:00:00Z', 'after')).roots).toEqual([newRoot]);
    // TesseraCT (logs.ct: tesseract) takes its roots_pem_file from the same roots: both during the overlap, then the new one.
    const tesseractRootsAt = async (at: string) => {
      const material = withTileLogKeys(await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load(), { at: new Date(at) }));
      const cluster = synthesizeCluster(chartInput(material, 'logs: { ct: tesseract }\n'));
      expect(find(cluster.public, 'Deployment', 'ctlog').spec.template.spec.containers[0].args).toContain('--roots_pem_file=/etc/ctlog-roots/roots.pem');
      return rootsOf(find(cluster.public, 'ConfigMap', 'ctlog-roots').data['roots.pem']);
    };
    expect(await tesseractRootsAt('2026-06-02T00:00:00Z')).toEqual([oldRoot, newRoot]);
    expect(await tesseractRootsAt('2026-06-22T00:00:00Z')).toEqual([oldRoot, newRoot]);
    expect(await tesseractRootsAt('2026-06-28T00:00:00Z')).toEqual([newRoot]);
    // The sigstore-trust-roots ConfigMap (for verifiers that pin the roots out of band): both roots during the overlap, then the new one.
    const trustRootsAt = async (at: string) => {
      const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load(), { at: new Date(at) });
      const cluster = synthesizeCluster(chartInput(material, 'cluster:\n  trustRootNamespaces: [forge]\n'));
      return rootsOf(find(cluster.public, 'ConfigMap', 'sigstore-trust-roots', 'forge').data['fulcio-root.pem']);
    };
    expect(await trustRootsAt('2026-06-22T00:00:00Z')).toEqual([oldRoot, newRoot]);
    expect(await trustRootsAt('2026-06-28T00:00:00Z')).toEqual([newRoot]);
    const authorities = during.trustedRoot.certificateAuthorities;
    expect(authorities).toHaveLength(2);
    expect(authorities[0].validFor.end).toBe('2026-06-27T00:00:00Z');
    expect(authorities[1].certChain.certificates[1].rawBytes).toBe(readFileSync(join(dir(), 'fulcio/g2/root.crt.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''));
  });

  it('tsa-root: a new root, intermediate and leaf; a later fulcio-intermediate rotation signs with the newest root key generation', async () => {
    const tsa = await runRotate({ config, item: 'tsa-root', stateRoot, clock: fixedClock(ROTATED_AT), at: CUT_OVER, rootKeys: new LocalRootKeys() });
    expect(tsa.generations.map((generation) => generation.itemId)).toEqual(['tsa-root-g2', 'tsa-intermediate-g2', 'tsa-leaf-g2']);
    await runRotate({ config, item: 'fulcio-root', stateRoot, clock: fixedClock(ROTATED_AT), at: CUT_OVER, rootKeys: new LocalRootKeys() });
    const next = await runRotate({ config, item: 'fulcio-intermediate', stateRoot, clock: fixedClock('2026-07-01T00:00:00Z'), at: new Date('2026-07-20T00:00:00Z'), rootKeys: new LocalRootKeys() });
    expect(next.generations.map((generation) => generation.itemId)).toEqual(['fulcio-intermediate-g3']);
    const manifest = JSON.parse(readFileSync(join(dir(), 'manifest.json'), 'utf8'));
    expect(manifest.items['fulcio-intermediate-g3'].signedBy).toBe('local:signer/g2/fulcio-root.key.pem');
    expect(manifest.generations['tsa-leaf'][0].issuerGeneration).toBe(2);
    expect((await runVerify({ config, stateRoot, offline: true, clock: fixedClock('2026-07-02T00:00:00Z') })).problems).toEqual([]);
    const attime = String(Date.parse('2026-07-02T00:00:00Z') / 1000);
    writeFileSync(join(temp(), 'tsa-g2-untrusted.pem'), readFileSync(join(dir(), 'tsa/g2/intermediate.crt.pem')));
    expect(
      opensslOk(['verify', '-attime', attime, '-CAfile', join(dir(), 'tsa/g2/root.crt.pem'), '-untrusted', join(temp(), 'tsa-g2-untrusted.pem'), join(dir(), 'tsa/g2/leaf.crt.pem')]),
    ).toContain(': OK');

    // Every chain trusted_root.json publishes (three Fulcio generations under two roots, two TSA generations), each checked by openssl at a time inside its validFor.
    const snapshot = await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load();
    const repository = readTufRepository(snapshot);
    const target = repository.targets.signed.targets['trusted_root.json'];
    const published = JSON.parse(repository.files.get(`targets/${target.hashes.sha256}.trusted_root.json`)!.toString('utf8'));
    expect(published.certificateAuthorities).toHaveLength(3);
    expect(published.timestampAuthorities).toHaveLength(2);
    const verified = [...published.certificateAuthorities, ...published.timestampAuthorities].map((authority, index) =>
      opensslVerifyPublishedChain(authority, join(temp(), `chain-${index}`)),
    );
    expect(verified).toEqual(Array(5).fill(true));
    // The chains are distinct generations: five different leaves, and both TSA roots.
    expect(new Set([...published.certificateAuthorities, ...published.timestampAuthorities].map((authority) => authority.certChain.certificates[0].rawBytes)).size).toBe(5);
    expect(new Set(published.timestampAuthorities.map((authority: { certChain: { certificates: { rawBytes: string }[] } }) => authority.certChain.certificates.at(-1)!.rawBytes)).size).toBe(2);
  });
});

/**
 * `openssl verify` of one trusted_root.json certificate authority (its certChain: leaf first, root last) at a time inside its
 * validFor: the root alone as the trust anchor, the certificates between as untrusted. True when openssl says OK; throws otherwise.
 */
function opensslVerifyPublishedChain(authority: { certChain: { certificates: { rawBytes: string }[] }; validFor: { start: string; end?: string } }, directory: string): boolean {
  mkdirSync(directory, { recursive: true });
  const pem = (rawBytes: string) => new x509.X509Certificate(Buffer.from(rawBytes, 'base64')).toString('pem') + '\n';
  const certificates = authority.certChain.certificates.map((certificate) => certificate.rawBytes);
  expect(certificates.length).toBeGreaterThanOrEqual(2);
  writeFileSync(join(directory, 'leaf.pem'), pem(certificates[0]));
  writeFileSync(join(directory, 'root.pem'), pem(certificates.at(-1)!));
  const between = certificates.slice(1, -1);
  if (between.length > 0) writeFileSync(join(directory, 'untrusted.pem'), between.map(pem).join(''));
  const start = Date.parse(authority.validFor.start);
  const attime = String(Math.floor((authority.validFor.end ? (start + Date.parse(authority.validFor.end)) / 2 : start + 86_400_000) / 1000));
  const output = opensslOk([
    'verify', '-x509_strict', '-attime', attime, '-CAfile', join(directory, 'root.pem'),
    ...(between.length > 0 ? ['-untrusted', join(directory, 'untrusted.pem')] : []),
    join(directory, 'leaf.pem'),
  ]);
  return output.includes(': OK');
}
