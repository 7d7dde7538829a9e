import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRotate } from '../../lib/commands/rotate';
import { parseDuration } from '../../lib/config/duration';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { devConfig } from '../helpers/config';
import { signArtifact, verifyWithSigstore } from '../helpers/sigstore-bundle';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * Trust continuity, checked by @sigstore/verify: a bundle (Fulcio-style leaf + RFC 3161 timestamp from
 * openssl, which stamps the wall clock) made under the old generation verifies against the trusted
 * root after a fulcio-intermediate, a fulcio-root and a tsa-leaf rotation, as long as its timestamp falls inside the
 * old generation's validFor; one made under the new generation verifies too; one made under the old
 * generation but timestamped after the old validFor.end fails.
 */
describe('@sigstore/verify across a fulcio-intermediate, fulcio-root and tsa-leaf rotation', () => {
  const temp = useTempDirectory();
  const config = devConfig('rotation');
  const HOUR = 60 * 60 * 1000;

  /** Mints a state at `mintedAgoMs` before now, rotates both items at `rotatedAgoMs` with the cut-over then and a 1 h overlap. */
  async function rotatedState(name: string, mintedAgoMs: number, rotatedAgoMs: number) {
    const stateRoot = join(temp(), name, '.sigstore');
    const outDir = (label: string) => join(temp(), name, label);
    const clock = (agoMs: number) => () => new Date(Date.now() - agoMs);
    await synth({ config, stateRoot, outDir: outDir('dist-before'), cloudOutDir: outDir('cloud'), clock: clock(mintedAgoMs), projectRoot: join(temp(), name) });
    const store = new StateStore({ root: stateRoot, env: config.env });
    const oldMaterial = await readPkiMaterial(await store.load());
    const trustedRootBefore = JSON.parse(readFileSync(join(outDir('dist-before'), 'trust', 'trusted_root.json'), 'utf8'));
    // A bundle made (and timestamped) under generation 1 before any rotation ran.
    const madeBefore = await signArtifact(oldMaterial, { artifact: Buffer.from('made before the rotations\n'), workDir: join(temp(), name, 'tsa-before') });
    const at = new Date(Date.now() - rotatedAgoMs);
    for (const item of ['fulcio-intermediate', 'fulcio-root', 'tsa-leaf'] as const) {
      await runRotate({ config, item, stateRoot, clock: () => at, at, overlap: parseDuration('1h'), rootKeys: new LocalRootKeys() });
    }
    await synth({ config, stateRoot, outDir: outDir('dist-after'), cloudOutDir: outDir('cloud'), clock: clock(0), projectRoot: join(temp(), name) });
    const newMaterial = await readPkiMaterial(await store.load());
    const trustedRootAfter = JSON.parse(readFileSync(join(outDir('dist-after'), 'trust', 'trusted_root.json'), 'utf8'));
    return { oldMaterial, newMaterial, trustedRootBefore, trustedRootAfter, madeBefore };
  }

  it('old-generation bundles verify within the old validFor, new-generation bundles verify after the cut-over', async () => {
    // Minted 2 h ago, rotated (cut-over) 30 min ago: the old generation is valid until 30 min from now.
    const state = await rotatedState('within', 2 * HOUR, HOUR / 2);
    // fulcio-intermediate g2 (under root g1), then fulcio-root g2 with fulcio-intermediate g3 under it.
    expect(state.newMaterial.activeGenerations).toMatchObject({ 'fulcio-root': 2, 'fulcio-intermediate': 3, 'tsa-leaf': 2 });
    expect(state.trustedRootAfter.certificateAuthorities).toHaveLength(3);
    expect(state.trustedRootAfter.timestampAuthorities).toHaveLength(2);
    expect(() => verifyWithSigstore(state.trustedRootBefore, state.madeBefore)).not.toThrow();
    expect(() => verifyWithSigstore(state.trustedRootAfter, state.madeBefore)).not.toThrow();
    const artifact = Buffer.from('continuity\n');
    const made = await signArtifact(state.oldMaterial, { artifact, workDir: join(temp(), 'tsa-old') });
    expect(() => verifyWithSigstore(state.trustedRootBefore, made)).not.toThrow();
    expect(() => verifyWithSigstore(state.trustedRootAfter, made)).not.toThrow();
    const fresh = await signArtifact(state.newMaterial, { artifact, workDir: join(temp(), 'tsa-new') });
    expect(() => verifyWithSigstore(state.trustedRootAfter, fresh)).not.toThrow();
    // The pre-rotation trusted root does not know the new generation.
    expect(() => verifyWithSigstore(state.trustedRootBefore, fresh)).toThrow();
  });

  it('a bundle of the old generation timestamped after its validFor.end fails; the new generation still verifies', async () => {
    // Minted 4 h ago, rotated (cut-over) 3 h ago with a 1 h overlap: the old generation ended 2 h ago.
    const state = await rotatedState('ended', 4 * HOUR, 3 * HOUR);
    const oldEnd = new Date(state.trustedRootAfter.timestampAuthorities[0].validFor.end).getTime();
    expect(oldEnd).toBeLessThan(Date.now() - HOUR);
    expect(new Date(state.trustedRootAfter.certificateAuthorities[0].validFor.end).getTime()).toBe(oldEnd);
    const artifact = Buffer.from('too late\n');
    const late = await signArtifact(state.oldMaterial, { artifact, workDir: join(temp(), 'tsa-late') });
    // The same bundle verifies against the trust before the rotation: only validFor.end makes it fail.
    expect(() => verifyWithSigstore(state.trustedRootBefore, late)).not.toThrow();
    expect(() => verifyWithSigstore(state.trustedRootAfter, late)).toThrow(expect.objectContaining({ code: expect.stringMatching(/TIMESTAMP_ERROR|CERTIFICATE_ERROR/) }));
    // Each validFor.end on its own: the old Fulcio chain with the new TSA fails on the certificate, the new Fulcio chain with the old TSA on the timestamp.
    const oldFulcio = await signArtifact({ ...state.newMaterial, fulcio: state.oldMaterial.fulcio }, { artifact, workDir: join(temp(), 'tsa-old-fulcio') });
    expect(() => verifyWithSigstore(state.trustedRootBefore, oldFulcio)).toThrow();
    expect(() => verifyWithSigstore(state.trustedRootAfter, oldFulcio)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR' }));
    const oldTsa = await signArtifact({ ...state.newMaterial, tsa: state.oldMaterial.tsa }, { artifact, workDir: join(temp(), 'tsa-old-tsa') });
    expect(() => verifyWithSigstore(state.trustedRootAfter, oldTsa)).toThrow(expect.objectContaining({ code: 'TIMESTAMP_ERROR' }));
    const fresh = await signArtifact(state.newMaterial, { artifact, workDir: join(temp(), 'tsa-fresh') });
    expect(() => verifyWithSigstore(state.trustedRootAfter, fresh)).not.toThrow();
  });
});
