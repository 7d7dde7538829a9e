import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRotate } from '../../lib/commands/rotate';
import { parseDuration } from '../../lib/config/duration';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { devConfig } from '../helpers/config';
import { generateEcKeyPair, spkiDer } from '../../lib/pki/keys';
import { sctSignerOf, sctSignerOfKey, type SctSigner } from '../helpers/sct';
import { signArtifact, verifyWithSigstore, type SignedArtifact } from '../helpers/sigstore-bundle';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * Trust continuity, checked by @sigstore/verify: a bundle (Fulcio-style leaf + RFC 3161 timestamp from
 * openssl, which stamps the wall clock) made under the old generation verifies against the trusted
 * root after a fulcio-intermediate, a fulcio-root and a tsa-leaf rotation, as long as its timestamp falls inside the
 * old generation's validFor; one made under the new generation verifies too; one made under the old
 * generation but timestamped after the old validFor.end fails.
 * Every leaf carries an SCT embedded the way Fulcio does (the precertificate signed by the state's CT
 * log key, the one trusted_root.json publishes under ctlogs) and is verified with ctlogThreshold 1,
 * sigstore-js's default: the CT log key does not rotate with the Fulcio root, so the SCTs over
 * precertificates of the old and of the new chain both verify against the trusted root after the
 * rotation. (That ct_server/TesseraCT accept both roots' precertificates during the overlap is
 * test/lifecycle/rotate.test.ts, 'rotate: a new root'.)
 */
describe('@sigstore/verify across a fulcio-intermediate, fulcio-root and tsa-leaf rotation', () => {
  const temp = useTempDirectory();
  const config = devConfig('rotation');
  const HOUR = 60 * 60 * 1000;
  /** sigstore-js's default CT threshold: one embedded SCT from a ctlogs key. */
  const verify = (trustedRoot: unknown, signed: SignedArtifact) => verifyWithSigstore(trustedRoot, signed, { ctlogThreshold: 1 });

  /** Mints a state at `mintedAgoMs` before now, rotates both items at `rotatedAgoMs` with the cut-over then and a 1 h overlap. */
  async function rotatedState(base: string, mintedAgoMs: number, rotatedAgoMs: number) {
    const stateRoot = join(base, '.sigstore');
    const outDir = (label: string) => join(base, label);
    const clock = (agoMs: number) => () => new Date(Date.now() - agoMs);
    await synth({ config, stateRoot, outDir: outDir('dist-before'), cloudOutDir: outDir('cloud'), clock: clock(mintedAgoMs), projectRoot: base });
    const store = new StateStore({ root: stateRoot, env: config.env });
    const oldMaterial = await readPkiMaterial(await store.load());
    const trustedRootBefore = JSON.parse(readFileSync(join(outDir('dist-before'), 'trust', 'trusted_root.json'), 'utf8'));
    const ctLog = sctSignerOf(oldMaterial.ctlog);
    // A bundle made (and timestamped, its SCT signed) under generation 1 before any rotation ran.
    const madeBefore = await signArtifact(oldMaterial, { artifact: Buffer.from('made before the rotations\n'), workDir: join(base, 'tsa-before'), sct: ctLog });
    const at = new Date(Date.now() - rotatedAgoMs);
    for (const item of ['fulcio-intermediate', 'fulcio-root', 'tsa-leaf'] as const) {
      await runRotate({ config, item, stateRoot, clock: () => at, at, overlap: parseDuration('1h'), rootKeys: new LocalRootKeys() });
    }
    await synth({ config, stateRoot, outDir: outDir('dist-after'), cloudOutDir: outDir('cloud'), clock: clock(0), projectRoot: base });
    const newMaterial = await readPkiMaterial(await store.load());
    const trustedRootAfter = JSON.parse(readFileSync(join(outDir('dist-after'), 'trust', 'trusted_root.json'), 'utf8'));
    return { oldMaterial, newMaterial, trustedRootBefore, trustedRootAfter, madeBefore, ctLog };
  }

  // Minted 2 h ago, rotated (cut-over) 30 min ago: the old generation is valid until 30 min from now.
  let within: Awaited<ReturnType<typeof rotatedState>>;
  let withinDirectory: string;
  beforeAll(async () => {
    withinDirectory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-sctrot-'));
    within = await rotatedState(withinDirectory, 2 * HOUR, HOUR / 2);
  });
  afterAll(() => rmSync(withinDirectory, { recursive: true, force: true }));

  it('old-generation bundles verify within the old validFor, new-generation bundles verify after the cut-over', async () => {
    const state = within;
    // fulcio-intermediate g2 (under root g1), then fulcio-root g2 with fulcio-intermediate g3 under it.
    expect(state.newMaterial.activeGenerations).toMatchObject({ 'fulcio-root': 2, 'fulcio-intermediate': 3, 'tsa-leaf': 2 });
    expect(state.trustedRootAfter.certificateAuthorities).toHaveLength(3);
    expect(state.trustedRootAfter.timestampAuthorities).toHaveLength(2);
    expect(() => verify(state.trustedRootBefore, state.madeBefore)).not.toThrow();
    expect(() => verify(state.trustedRootAfter, state.madeBefore)).not.toThrow();
    const artifact = Buffer.from('continuity\n');
    const made = await signArtifact(state.oldMaterial, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-old') });
    expect(() => verify(state.trustedRootBefore, made)).not.toThrow();
    expect(() => verify(state.trustedRootAfter, made)).not.toThrow();
    const fresh = await signArtifact(state.newMaterial, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-new') });
    expect(() => verify(state.trustedRootAfter, fresh)).not.toThrow();
    // The pre-rotation trusted root does not know the new generation.
    expect(() => verify(state.trustedRootBefore, fresh)).toThrow();
  });

  it('the SCTs are what is checked: the key that signs them is the ctlogs key of the trusted root after the rotation; a stranger\'s SCT or none fails', async () => {
    const state = within;
    // The fulcio-root rotation does not rotate the CT log key: the trusted root after it still publishes the key that signed the SCTs.
    expect(spkiDer(state.newMaterial.ctlog.publicKey)).toEqual(spkiDer(state.oldMaterial.ctlog.publicKey));
    const published = state.trustedRootAfter.ctlogs.map((log: { publicKey: { rawBytes: string } }) => log.publicKey.rawBytes);
    expect(published).toEqual([spkiDer(state.oldMaterial.ctlog.publicKey).toString('base64')]);
    expect(Buffer.from(state.trustedRootAfter.ctlogs[0].logId.keyId, 'base64')).toEqual(state.ctLog.logId);
    const artifact = Buffer.from('sct checks\n');
    const signedBy = (material: typeof state.oldMaterial, sct: SctSigner | undefined, label: string) => signArtifact(material, { artifact, sct, workDir: join(temp(), `tsa-sct-${label}`) });
    // Old chain and new chain, each with an SCT from the published key: both verify after the rotation.
    expect(() => verify(state.trustedRootAfter, state.madeBefore)).not.toThrow();
    const fresh = await signedBy(state.newMaterial, state.ctLog, 'new');
    expect(() => verify(state.trustedRootAfter, fresh)).not.toThrow();
    // An SCT from a key trusted_root.json does not publish, under either chain: the SCT error.
    const stranger = sctSignerOfKey(generateEcKeyPair('P-256').privateKey);
    for (const material of [state.oldMaterial, state.newMaterial]) {
      const bundle = await signedBy(material, stranger, `stranger-${material.activeGenerations['fulcio-root']}`);
      expect(() => verify(state.trustedRootAfter, bundle)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: 'SCT verification failed' }));
      // @sigstore/verify checks every embedded SCT whatever the threshold (dist/key/sct.js; the threshold only counts them).
      expect(() => verifyWithSigstore(state.trustedRootAfter, bundle, { ctlogThreshold: 0 })).toThrow(expect.objectContaining({ message: 'SCT verification failed' }));
    }
    // The stranger's SCT named with the published log id: the signature does not verify under the published key.
    const forged = await signedBy(state.newMaterial, { logKey: stranger.logKey, logId: state.ctLog.logId }, 'forged');
    expect(() => verify(state.trustedRootAfter, forged)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: 'SCT verification failed' }));
    // A leaf without an SCT extension: sigstore-js's default threshold refuses it.
    const withoutSct = await signedBy(state.newMaterial, undefined, 'none');
    expect(() => verify(state.trustedRootAfter, withoutSct)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: 'expected 1 SCTs, got 0' }));
  });

  it('a bundle of the old generation timestamped after its validFor.end fails; the new generation still verifies', async () => {
    // Minted 4 h ago, rotated (cut-over) 3 h ago with a 1 h overlap: the old generation ended 2 h ago.
    const state = await rotatedState(join(temp(), 'ended'), 4 * HOUR, 3 * HOUR);
    const oldEnd = new Date(state.trustedRootAfter.timestampAuthorities[0].validFor.end).getTime();
    expect(oldEnd).toBeLessThan(Date.now() - HOUR);
    expect(new Date(state.trustedRootAfter.certificateAuthorities[0].validFor.end).getTime()).toBe(oldEnd);
    const artifact = Buffer.from('too late\n');
    const late = await signArtifact(state.oldMaterial, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-late') });
    // The same bundle verifies against the trust before the rotation: only validFor.end makes it fail.
    expect(() => verify(state.trustedRootBefore, late)).not.toThrow();
    expect(() => verify(state.trustedRootAfter, late)).toThrow(expect.objectContaining({ code: expect.stringMatching(/TIMESTAMP_ERROR|CERTIFICATE_ERROR/) }));
    // Each validFor.end on its own: the old Fulcio chain with the new TSA fails on the certificate, the new Fulcio chain with the old TSA on the timestamp.
    const oldFulcio = await signArtifact({ ...state.newMaterial, fulcio: state.oldMaterial.fulcio }, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-old-fulcio') });
    expect(() => verify(state.trustedRootBefore, oldFulcio)).toThrow();
    expect(() => verify(state.trustedRootAfter, oldFulcio)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR' }));
    const oldTsa = await signArtifact({ ...state.newMaterial, tsa: state.oldMaterial.tsa }, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-old-tsa') });
    expect(() => verify(state.trustedRootAfter, oldTsa)).toThrow(expect.objectContaining({ code: 'TIMESTAMP_ERROR' }));
    const fresh = await signArtifact(state.newMaterial, { artifact, sct: state.ctLog, workDir: join(temp(), 'tsa-fresh') });
    expect(() => verify(state.trustedRootAfter, fresh)).not.toThrow();
  });
});
