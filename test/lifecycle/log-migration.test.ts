import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningConfig } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import { runLogMigration } from '../../lib/commands/migrate-log';
import { parseDuration } from '../../lib/config/duration';
import { decryptPrivateKey, logIdOf, publicKeyPem } from '../../lib/pki/keys';
import { sctSignerOf, type SctSigner } from '../helpers/sct';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { mintTileLogKey, TILE_LOG_KEY_ITEMS } from '../../lib/pki/tile-log-keys';
import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { serviceUrls } from '../../lib/config/service-urls';
import { buildSigningConfig } from '../../lib/trust/signing-config';
import { transparencyLogs } from '../../lib/trust/transparency-logs';
import { buildTrustedRoot } from '../../lib/trust/trusted-root';
import { readTufRepository } from '../../lib/trust/tuf/repository';
import { buildTufTargets } from '../../lib/trust/tuf/targets';
import { configFromYaml, fixedClock } from '../helpers/config';
import { setWallClock } from '../helpers/fake-date';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { signedNoteKeyHash, withRekorV1Entry, withRekorV2Entry } from '../helpers/rekor-entries';
import { issueFulcioLeaf, signArtifact, type SignedArtifact } from '../helpers/sigstore-bundle';
import { withTileLogKeys } from '../helpers/tile-log-fixture';
import { useTempDirectory } from '../helpers/temp-directory';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { sign as nodeSign } from 'node:crypto';
import { parseAllDocuments } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * `rotate rekor-log` (and `ct-log`): the planned migration of a published environment from Rekor v1
 * to Rekor v2 (ct_server to TesseraCT). The old log stays in trusted_root.json with validFor.end =
 * cut-over + overlap, the new one is added; the signing config lists both Rekor URLs by validFor.
 * Checked with the fixture state and an injected clock, then against the wall clock with
 * @sigstore/verify (a v1 bundle from before the cut-over and a v2 bundle from after it) and
 * @sigstore/sign's signing-config selection.
 */

const HOSTS = `
services:
  fulcio: { hostname: fulcio.example.com }
  rekor: { hostname: rekor.example.com }
  ctlog: { hostname: ctlog.example.com, prefix: forge }
  tsa: { hostname: tsa.example.com }
  tuf: { hostname: tuf.example.com }
  trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }
`;
const ROTATED_AT = '2026-06-01T00:00:00Z';
const CUT_OVER = new Date('2026-06-20T00:00:00Z');
const REKOR_V1_KEY_ID = (material: PkiMaterial) => logIdOf(material.rekor.publicKey).toString('base64');

const publishedTarget = async (stateRoot: string, name: string): Promise<string> => {
  const repository = readTufRepository(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load());
  const file = repository.targets.signed.targets[name];
  return repository.files.get(`targets/${file.hashes.sha256}.${name}`)!.toString('utf8');
};
const targetHash = async (stateRoot: string, name: string) => readTufRepository(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load()).targets.signed.targets[name]?.hashes.sha256;

describe('rotate rekor-log / ct-log on the published fixture state (injected clock)', () => {
  const temp = useTempDirectory();
  const migrate = (stateRoot: string, yaml: string, item: 'rekor-log' | 'ct-log' = 'rekor-log', at = CUT_OVER) =>
    runLogMigration({ config: fixtureConfig(yaml), item, stateRoot, clock: fixedClock(ROTATED_AT), at, overlap: parseDuration('1d'), rootKeys: new LocalRootKeys() });
  const manifestOf = (stateRoot: string) => readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'));

  it('refuses while logs.rekor still names v1, and without pinned tree ids, before anything is written', async () => {
    const stateRoot = copyFixtureState(temp());
    const before = manifestOf(stateRoot);
    await expect(migrate(stateRoot, HOSTS)).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/rotate rekor-log: logs\.rekor is "v1"; .*set logs\.rekor: v2 first \(accepted: "v2"\)/) }),
    );
    await expect(migrate(stateRoot, 'logs: { rekor: v2 }\n')).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^rotate rekor-log: the current Rekor shards become inactive .*services\.trillian\.treeIds\.rekor \(kubectl/) }));
    await expect(migrate(stateRoot, `logs: { ct: tesseract }\n${HOSTS}`, 'ct-log', new Date('2026-05-01T00:00:00Z'))).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/--at .* is in the past/) }),
    );
    // Rekor v2 has no integrated time: with a public Rekor the TSA needs a public hostname too.
    const noTsaHost = HOSTS.replace('  tsa: { hostname: tsa.example.com }\n', '');
    expect(() => fixtureConfig(`logs: { rekor: v2 }\n${noTsaHost}`)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('services.tsa.hostname') }));
    expect(manifestOf(stateRoot)).toEqual(before);
  });

  it('warns when the cut-over comes before every client has fetched the new trust', async () => {
    const result = await migrate(copyFixtureState(temp()), `logs: { ct: tesseract }\n${HOSTS}`, 'ct-log', new Date('2026-06-02T00:00:00Z'));
    expect(result.warnings).toEqual([expect.stringMatching(/^the cut-over 2026-06-02T00:00:00Z comes before the current TUF timestamp expires for clients .*still signs with the old log, which takes no entries from the cut-over on$/)]);
  });

  it('refuses a state that runs Rekor v2 from the start: nothing to migrate', async () => {
    const stateRoot = copyFixtureState(temp());
    const store = new StateStore({ root: stateRoot, env: FIXTURE_ENV });
    const snapshot = await store.load();
    mintTileLogKey(snapshot, TILE_LOG_KEY_ITEMS.rekorV2, new Date('2026-01-01T00:00:00Z'));
    await store.withLock(() => store.commit(snapshot));
    await expect(migrate(stateRoot, `logs: { rekor: v2 }\n${HOSTS}`)).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/runs Rekor v2 \(rekor-tiles\) from the start \(rekor-v2-key\); there is nothing to migrate/) }),
    );
  });

  it('refuses a state with nothing published: an unpublished environment switches by configuration', async () => {
    await expect(migrate(join(temp(), 'empty'), `logs: { rekor: v2 }\n${HOSTS}`)).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/has published no trust yet/) }),
    );
  });

  it('rekor-log: mints the Rekor v2 key, records generation 2, publishes both logs; a second one is pending; going back is refused', async () => {
    const stateRoot = copyFixtureState(temp());
    const rekorPubBefore = await targetHash(stateRoot, 'rekor.pub');
    const yaml = `logs: { rekor: v2 }\n${HOSTS}`;
    const result = await migrate(stateRoot, yaml);
    expect(result.generations).toEqual([{ item: 'rekor-log', generation: 2, itemId: 'rekor-v2-key', activeFrom: '2026-06-20T00:00:00.000Z', previousValidUntil: '2026-06-21T00:00:00.000Z' }]);
    expect(result.stateWritten).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.deploy).toHaveLength(3);
    expect(result.deploy[0]).toMatch(/^1\. now, the new log beside the old one: .*deployment\/rekor-tiles starts beside deployment\/rekor.*rollout status deployment\/rekor-tiles; then publish dist\/trust\/tuf\//);
    expect(result.deploy[1]).toMatch(/^2\. at 2026-06-20T00:00:00Z or later, .*synth --env test --at 2026-06-20T00:00:00Z.*Job rekor-freeze freezes the old log's tree/);

    const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load(), { at: new Date(ROTATED_AT) });
    const v2Key = material.tileLogs!.rekorV2!.publicKey;
    expect(v2Key.asymmetricKeyType).toBe('ed25519');
    expect(material.logMigrations?.rekor).toEqual({ activeFrom: CUT_OVER, previousValidUntil: new Date('2026-06-21T00:00:00Z'), cutOverReached: false });

    const trustedRoot = JSON.parse(await publishedTarget(stateRoot, 'trusted_root.json'));
    expect(trustedRoot.tlogs).toHaveLength(2);
    const [v1, v2] = trustedRoot.tlogs;
    expect(v1).toMatchObject({ baseUrl: 'https://rekor.example.com', publicKey: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' } } });
    expect(v1.logId.keyId).toBe(REKOR_V1_KEY_ID(material));
    expect(v2).toMatchObject({ baseUrl: 'https://rekor.example.com', publicKey: { keyDetails: 'PKIX_ED25519', validFor: { start: ROTATED_AT } } });
    expect(v2.publicKey.validFor.end).toBeUndefined();
    expect(v2.logId.keyId).toBe(signedNoteKeyHash('rekor.example.com', v2Key).toString('base64'));
    expect(createPublicKey({ key: Buffer.from(v2.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' }).equals(v2Key)).toBe(true);
    // The CT log is untouched.
    expect(trustedRoot.ctlogs.map((log: any) => [log.baseUrl, log.publicKey.validFor.end])).toEqual([['https://ctlog.example.com/forge', undefined]]);

    const signingConfig = JSON.parse(await publishedTarget(stateRoot, 'signing_config.v0.2.json'));
    expect(signingConfig.rekorTlogUrls).toEqual([
      { url: 'https://rekor.example.com', majorApiVersion: 1, validFor: { start: '2026-01-01T00:00:00Z', end: '2026-06-20T00:00:00Z' }, operator: 'Test Org' },
      { url: 'https://rekor.example.com', majorApiVersion: 2, validFor: { start: '2026-06-20T00:00:00Z' }, operator: 'Test Org' },
    ]);
    // Published targets only grow: rekor.pub keeps the v1 key, rekor_v2.pub is added.
    expect(await targetHash(stateRoot, 'rekor.pub')).toBe(rekorPubBefore);
    expect(await publishedTarget(stateRoot, 'rekor_v2.pub')).toBe(publicKeyPem(v2Key));

    // One migration at a time, and never twice.
    await expect(migrate(stateRoot, yaml)).rejects.toThrow(expect.objectContaining({ code: 'STATE_ROTATION_PENDING' }));
    await expect(
      runLogMigration({ config: fixtureConfig(yaml), item: 'rekor-log', stateRoot, clock: fixedClock('2026-07-01T00:00:00Z'), rootKeys: new LocalRootKeys() }),
    ).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/migrated to Rekor v2 \(rekor-tiles\) at 2026-06-20T00:00:00Z already/) }));

    // synth: dist/trust/trusted_root.json is the published one; both servers in the manifest; the freeze from the cut-over.
    const outDir = join(temp(), 'dist');
    const synthAt = (at: Date, out: string) =>
      synth({ config: fixtureConfig(yaml), stateRoot, outDir: out, cloudOutDir: join(temp(), 'cloud'), clock: fixedClock(ROTATED_AT), at, projectRoot: temp() });
    await synthAt(new Date(ROTATED_AT), outDir);
    expect(JSON.parse(readFileSync(join(outDir, 'trust', 'trusted_root.json'), 'utf8'))).toEqual(trustedRoot);
    const objects = (out: string) => parseAllDocuments(readFileSync(join(out, 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJS() as any);
    const named = (out: string, kind: string) => objects(out).filter((object) => object.kind === kind).map((object) => object.metadata.name);
    expect(named(outDir, 'Deployment')).toEqual(expect.arrayContaining(['rekor', 'rekor-redis', 'rekor-tiles']));
    expect(named(outDir, 'Job')).not.toContain('rekor-freeze');
    await synthAt(CUT_OVER, join(temp(), 'dist-cut-over'));
    expect(named(join(temp(), 'dist-cut-over'), 'Deployment')).toEqual(expect.arrayContaining(['rekor', 'rekor-tiles']));
    expect(named(join(temp(), 'dist-cut-over'), 'Job')).toContain('rekor-freeze');

    // Going back to Rekor v1 (v2 -> v1) stays refused, naming the field.
    await expect(synth({ config: fixtureConfig(HOSTS), stateRoot, outDir: join(temp(), 'dist-back'), cloudOutDir: join(temp(), 'cloud'), clock: fixedClock(ROTATED_AT), projectRoot: temp() })).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/logs\.rekor "v1": the state migrated this log from "v1" to Rekor v2 .*going back is not supported\. Expected "v2"/) }),
    );
  });

  it('ct-log: TesseraCT under <prefix>-tiles beside ct_server; ctfe.pub kept, ctfe_tesseract.pub added', async () => {
    const stateRoot = copyFixtureState(temp());
    const ctfeBefore = await targetHash(stateRoot, 'ctfe.pub');
    const result = await migrate(stateRoot, `logs: { ct: tesseract }\n${HOSTS}`, 'ct-log');
    expect(result.generations[0]).toMatchObject({ item: 'ct-log', generation: 2, itemId: 'tesseract-key' });
    expect(result.deploy[1]).toMatch(/Job ctlog-freeze .*deployment\/fulcio rolls and submits to TesseraCT \(--ct-log-url \.\.\.\/forge-tiles\)/);
    const trustedRoot = JSON.parse(await publishedTarget(stateRoot, 'trusted_root.json'));
    expect(trustedRoot.ctlogs.map((log: any) => [log.baseUrl, log.publicKey.validFor.end])).toEqual([
      ['https://ctlog.example.com/forge', '2026-06-21T00:00:00Z'],
      ['https://ctlog.example.com/forge-tiles', undefined],
    ]);
    const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load());
    expect(trustedRoot.ctlogs[1].logId.keyId).toBe(logIdOf(material.tileLogs!.tesseract!.publicKey).toString('base64'));
    expect(trustedRoot.tlogs).toHaveLength(1);
    expect(await targetHash(stateRoot, 'ctfe.pub')).toBe(ctfeBefore);
    expect(await publishedTarget(stateRoot, 'ctfe_tesseract.pub')).toBe(publicKeyPem(material.tileLogs!.tesseract!.publicKey));
    // The signing config has no CT log: only Rekor's entries change with a migration.
    const signingConfig = JSON.parse(await publishedTarget(stateRoot, 'signing_config.v0.2.json'));
    expect(signingConfig.rekorTlogUrls).toHaveLength(1);
  });
});

describe('the migrated trust outputs with fixture keys (snapshot)', () => {
  const temp = useTempDirectory();
  it('trusted_root.json tlogs/ctlogs, the signing config Rekor entries and the log targets after both migrations', async () => {
    const migration = { activeFrom: CUT_OVER, previousValidUntil: new Date('2026-06-21T00:00:00Z') };
    const material = { ...withTileLogKeys(await fixtureMaterial(temp())), logMigrations: { rekor: { ...migration, cutOverReached: false }, ctlog: { ...migration, cutOverReached: false } } };
    const config = fixtureConfig(`logs: { rekor: v2, ct: tesseract }\n${HOSTS}`);
    const trustedRoot = buildTrustedRoot({ material, urls: serviceUrls(config), organization: config.organization, logs: transparencyLogs(material, config) });
    const signingConfig = buildSigningConfig(material, config);
    const logTargets = buildTufTargets(material, config)
      .filter((target) => /\.pub$/.test(target.name))
      .map((target) => ({ name: target.name, uri: target.custom?.sigstore.uri, sha256: createHash('sha256').update(target.content).digest('hex') }));
    expect({ tlogs: trustedRoot.tlogs, ctlogs: trustedRoot.ctlogs, rekorTlogUrls: signingConfig.rekorTlogUrls, logTargets }).toMatchSnapshot();
    expect(trustedRoot.tlogs.map((log) => log.publicKey.validFor)).toEqual([{ start: '2026-01-01T00:00:00Z', end: '2026-06-21T00:00:00Z' }, { start: '2026-01-01T00:00:00Z' }]);
    expect(logTargets.map((target) => target.name)).toEqual(['ctfe.pub', 'ctfe_tesseract.pub', 'rekor.pub', 'rekor_v2.pub']);
  });
});

/**
 * A bundle signed at `at` through Rekor v1 (Fulcio leaf from then, with an SCT when `sct` is given,
 * integrated a second later; no RFC 3161 timestamp: the integrated time is its time).
 */
async function signedWithRekorV1(material: PkiMaterial, at: Date, label: string, sct?: SctSigner): Promise<SignedArtifact> {
  const artifact = Buffer.from(`signed through Rekor v1 (${label})\n`);
  const email = 'dev@example.com';
  const oidcIssuer = 'https://issuer.example.com';
  const leaf = await issueFulcioLeaf(material, { email, oidcIssuer, now: new Date(at.getTime() - 1000), ...(sct ? { sct } : {}) });
  const signature = nodeSign('sha256', artifact, { key: leaf.privateKey, dsaEncoding: 'der' });
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { certificate: { rawBytes: Buffer.from(leaf.certificate.rawData).toString('base64') }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(artifact).digest('base64') }, signature: signature.toString('base64') },
  };
  const logKey = decryptPrivateKey(material.rekor.privateKey.pem, material.rekor.privateKey.password);
  return withRekorV1Entry(
    { artifact, bundle, email, oidcIssuer },
    { logKey, logId: logIdOf(material.rekor.publicKey), origin: 'rekor.example.com', integratedTime: at, certificatePem: leaf.certificate.toString('pem') },
  );
}

/** Verifies with the default thresholds but no SCT (no CT log signs here): one tlog entry and one timestamp. */
function verifyBundle(trustedRoot: unknown, signed: SignedArtifact, ctlogThreshold = 0): void {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(trustedRoot)), { tlogThreshold: 1, ctlogThreshold, timestampThreshold: 1 });
  verifier.verify(toSignedEntity(bundleFromJSON(signed.bundle), signed.artifact), { subjectAlternativeName: signed.email, extensions: { issuer: signed.oidcIssuer } });
}

describe('a migrated environment (Rekor v1 -> v2, ct_server -> TesseraCT), checked by sigstore-js against the wall clock', () => {
  let directory: string;
  const temp = () => directory;
  const HOUR = 60 * 60 * 1000;
  const ago = (ms: number) => new Date(Date.now() - ms);
  let before: any;
  let after: any;
  let signingConfig: any;
  let oldMaterial: PkiMaterial;
  let newMaterial: PkiMaterial;
  let cutOver: Date;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-migration-'));
    // Minted 4 h ago on Rekor v1 and ct_server; both migrated 3 h ago with the cut-over 2 h ago and a
    // 1 h overlap: the old logs' validFor ended 1 h ago.
    const stateRoot = join(temp(), '.sigstore');
    const common = { stateRoot, cloudOutDir: join(temp(), 'cloud'), projectRoot: temp() };
    const v1Config = configFromYaml(`organization: Test Org\nsigner: local\n${HOSTS}`, 'migration');
    const v2Config = configFromYaml(`organization: Test Org\nsigner: local\nlogs: { rekor: v2, ct: tesseract }\n${HOSTS}`, 'migration');
    await synth({ ...common, config: v1Config, outDir: join(temp(), 'dist-before'), clock: () => ago(4 * HOUR) });
    before = JSON.parse(readFileSync(join(temp(), 'dist-before', 'trust', 'trusted_root.json'), 'utf8'));
    const store = new StateStore({ root: stateRoot, env: 'migration' });
    oldMaterial = await readPkiMaterial(await store.load());
    const rotatedAt = ago(3 * HOUR);
    cutOver = ago(2 * HOUR);
    for (const item of ['rekor-log', 'ct-log'] as const) {
      await runLogMigration({ config: v2Config, item, stateRoot, clock: () => rotatedAt, at: cutOver, overlap: parseDuration('1h'), rootKeys: new LocalRootKeys() });
    }
    await synth({ ...common, config: v2Config, outDir: join(temp(), 'dist-after') });
    after = JSON.parse(readFileSync(join(temp(), 'dist-after', 'trust', 'trusted_root.json'), 'utf8'));
    // The signing config the current TUF targets name (older versions stay in the repository too).
    const snapshot = await store.load();
    const current = readTufRepository(snapshot).targets.signed.targets['signing_config.v0.2.json'].hashes.sha256;
    signingConfig = JSON.parse(readFileSync(join(temp(), 'dist-after', 'trust', 'tuf', 'targets', `${current}.signing_config.v0.2.json`), 'utf8'));
    newMaterial = await readPkiMaterial(snapshot);
  });
  afterAll(() => {
    jest.useRealTimers();
    rmSync(directory, { recursive: true, force: true });
  });

  const signedThroughRekorV1 = (at: Date, label: string) => signedWithRekorV1(oldMaterial, at, label);

  it('trusted_root.json lists Rekor v1 (validFor ending an hour after the cut-over) and Rekor v2', () => {
    expect(after.tlogs.map((log: any) => log.publicKey.keyDetails)).toEqual(['PKIX_ECDSA_P256_SHA_256', 'PKIX_ED25519']);
    expect(new Date(after.tlogs[0].publicKey.validFor.end).getTime()).toBe(Math.floor((cutOver.getTime() + HOUR) / 1000) * 1000);
    expect(before.tlogs).toHaveLength(1);
  });

  it('a Rekor v1 bundle integrated before the cut-over (and one inside the overlap) verifies against the migrated trusted root', async () => {
    for (const [label, at] of [['before the cut-over', ago(2.5 * HOUR)], ['inside the overlap', ago(1.5 * HOUR)]] as const) {
      const bundle = await signedThroughRekorV1(at, label);
      expect(() => verifyBundle(before, bundle)).not.toThrow();
      expect(() => verifyBundle(after, bundle)).not.toThrow();
    }
  });

  it('a Rekor v1 entry integrated after the old validFor.end fails; only that end makes it fail', async () => {
    const late = await signedThroughRekorV1(ago(0.5 * HOUR), 'after the end');
    expect(() => verifyBundle(before, late)).not.toThrow();
    expect(() => verifyBundle(after, late)).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_PROMISE_ERROR' }));
  });

  it('a Rekor v2 bundle signed after the cut-over (checkpoint by the new key, TSA timestamp) verifies against the migrated root, not the old one', async () => {
    const signed = await signArtifact(newMaterial, { artifact: Buffer.from('signed through Rekor v2\n'), workDir: join(temp(), 'tsa') });
    const v2Key = newMaterial.tileLogs!.rekorV2!;
    const keyHash = signedNoteKeyHash('rekor.example.com', v2Key.publicKey);
    const logKey = decryptPrivateKey(v2Key.privateKey.pem, v2Key.privateKey.password);
    const bundle = withRekorV2Entry(signed, { logKey, logId: keyHash, origin: 'rekor.example.com', keyHint: keyHash.subarray(0, 4) });
    expect(() => verifyBundle(after, bundle)).not.toThrow();
    expect(() => verifyBundle(before, bundle)).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_PROOF_ERROR' }));
  });

  it('@sigstore/sign selects Rekor v2 after the cut-over; before it, it already picks the newest start (so Rekor v2 is deployed first)', () => {
    const rekorWitness = () => {
      const builder = bundleBuilderFromSigningConfig({ signingConfig: SigningConfig.fromJSON(signingConfig), identityProvider: { getToken: async () => 'unused' }, bundleType: 'messageSignature' }) as any;
      return builder.witnesses.find((witness: any) => witness.constructor.name === 'RekorWitness');
    };
    // After the cut-over: Rekor v1's signing validFor has ended, Rekor v2 is the only one.
    const afterCutOver = rekorWitness();
    expect(afterCutOver.majorApiVersion).toBe(2);
    expect(afterCutOver.tlogV2.rekor.options.baseURL).toBe('https://rekor.example.com');
    // Before the cut-over both entries are listed and Rekor v1 is the one valid then (a client that
    // honours validFor.start, as sigstore-go's SelectService does, signs with it) ...
    const beforeCutOver = new Date(cutOver.getTime() - HOUR);
    const [v1, v2] = signingConfig.rekorTlogUrls;
    expect(new Date(v1.validFor.start) <= beforeCutOver && beforeCutOver < new Date(v1.validFor.end)).toBe(true);
    expect(new Date(v2.validFor.start) > beforeCutOver).toBe(true);
    // ... but @sigstore/sign 4.1.1 (dist/config.js sortServicesByStartDate) only drops ended entries
    // and takes the newest start: it signs with Rekor v2 as soon as it has this signing config.
    setWallClock(beforeCutOver.toISOString());
    try {
      expect(rekorWitness().majorApiVersion).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ctlogs lists ct_server (validFor ending an hour after the cut-over) and TesseraCT under <prefix>-tiles', () => {
    expect(after.ctlogs.map((log: any) => [log.baseUrl, log.publicKey.validFor.end !== undefined])).toEqual([
      ['https://ctlog.example.com/forge', true],
      ['https://ctlog.example.com/forge-tiles', false],
    ]);
  });

  it('a certificate with an SCT from ct_server before the cut-over verifies; one whose SCT is after the old end fails', async () => {
    const early = await signedWithRekorV1(newMaterial, ago(2.5 * HOUR), 'ct_server SCT, before the cut-over', sctSignerOf(newMaterial.ctlog));
    expect(() => verifyBundle(before, early, 1)).not.toThrow();
    expect(() => verifyBundle(after, early, 1)).not.toThrow();
    const late = await signedWithRekorV1(newMaterial, ago(0.5 * HOUR), 'ct_server SCT, after the end', sctSignerOf(newMaterial.ctlog));
    expect(() => verifyBundle(before, late, 1)).not.toThrow();
    expect(() => verifyBundle(after, late, 1)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: expect.stringContaining('SCT verification failed') }));
  });

  it('after the cut-over, a bundle through Rekor v2 with an SCT from TesseraCT verifies against the migrated root, not the old one', async () => {
    const signed = await signArtifact(newMaterial, { artifact: Buffer.from('signed through Rekor v2 and TesseraCT\n'), workDir: join(temp(), 'tsa-sct'), sct: sctSignerOf(newMaterial.tileLogs!.tesseract!) });
    const v2Key = newMaterial.tileLogs!.rekorV2!;
    const keyHash = signedNoteKeyHash('rekor.example.com', v2Key.publicKey);
    const logKey = decryptPrivateKey(v2Key.privateKey.pem, v2Key.privateKey.password);
    const bundle = withRekorV2Entry(signed, { logKey, logId: keyHash, origin: 'rekor.example.com', keyHint: keyHash.subarray(0, 4) });
    expect(() => verifyBundle(after, bundle, 1)).not.toThrow();
    expect(() => verifyBundle(before, bundle, 1)).toThrow();
    // The same without the SCT's log in ctlogs: SCT verification fails (the SCT is what is checked).
    const withoutTesseract = { ...after, ctlogs: after.ctlogs.slice(0, 1) };
    expect(() => verifyBundle(withoutTesseract, bundle, 1)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: expect.stringContaining('SCT verification failed') }));
  });
});
