import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { decryptPrivateKey } from '../../lib/pki/keys';
import { sctSignerOf } from '../helpers/sct';
import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { configFromYaml } from '../helpers/config';
import { signedNoteKeyHash, withRekorV2Entry } from '../helpers/rekor-entries';
import { signArtifact, type SignedArtifact } from '../helpers/sigstore-bundle';
import { TILES_PUBLIC_YAML } from '../helpers/tile-log-fixture';

/*
 * The proof that the trust outputs of a Rekor v2 environment are what clients need: a bundle whose
 * tlog entry is a Rekor v2 entry (hashedrekord 0.0.2, no inclusion promise, no integrated time; an
 * inclusion proof built here and a checkpoint signed by the minted Ed25519 log key as rekor-tiles signs
 * it) verifies with @sigstore/verify against the synthesized trusted_root.json; and the signing
 * config, parsed by the sigstore library's signer, selects the Rekor v2 URL.
 */

const REKOR_ORIGIN = 'rekor.example.com';
const config = configFromYaml(`organization: Test Org\nsigner: local\n${TILES_PUBLIC_YAML}`, 'tiles');

function verify(trustedRoot: unknown, signed: SignedArtifact): void {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(trustedRoot)), { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 });
  verifier.verify(toSignedEntity(bundleFromJSON(signed.bundle), signed.artifact), { subjectAlternativeName: signed.email, extensions: { issuer: signed.oidcIssuer } });
}

describe('Rekor v2 and TesseraCT trust outputs, checked by sigstore-js', () => {
  let directory: string;
  let material: PkiMaterial;
  let trustedRoot: any;
  let signingConfig: any;
  let signed: SignedArtifact;
  let logKey: KeyObject;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-rekor-v2-'));
    const stateRoot = join(directory, '.sigstore');
    const outDir = join(directory, 'dist');
    // A minute in the past, so that openssl's timestamps (wall clock) fall inside every validity window.
    await synth({ config, stateRoot, outDir, clock: () => new Date(Date.now() - 60_000) });
    material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: config.env }).load());
    trustedRoot = JSON.parse(readFileSync(join(outDir, 'trust', 'trusted_root.json'), 'utf8'));
    const targets = join(outDir, 'trust', 'tuf', 'targets');
    signingConfig = JSON.parse(readFileSync(join(targets, readdirSync(targets).find((name) => name.endsWith('.signing_config.v0.2.json'))!), 'utf8'));
    logKey = decryptPrivateKey(material.tileLogs!.rekorV2!.privateKey.pem, material.tileLogs!.rekorV2!.privateKey.password);
    signed = await signArtifact(material, { artifact: Buffer.from('hello rekor v2\n'), workDir: join(directory, 'tsa') });
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('mints an Ed25519 Rekor v2 key and a P-256 TesseraCT key into the state', () => {
    expect(material.tileLogs?.rekorV2?.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(material.tileLogs?.tesseract?.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('lists Rekor v2 under tlogs: public baseUrl, Ed25519 key, log id = the signed-note key hash of the origin (not the SPKI hash)', () => {
    expect(trustedRoot.tlogs).toHaveLength(1);
    const [tlog] = trustedRoot.tlogs;
    const publicKey = material.tileLogs!.rekorV2!.publicKey;
    expect(tlog.baseUrl).toBe(`https://${REKOR_ORIGIN}`);
    expect(tlog.publicKey.keyDetails).toBe('PKIX_ED25519');
    expect(createPublicKey({ key: Buffer.from(tlog.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' }).equals(publicKey)).toBe(true);
    expect(tlog.logId.keyId).toBe(signedNoteKeyHash(REKOR_ORIGIN, publicKey).toString('base64'));
    const spkiHash = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    expect(tlog.logId.keyId).not.toBe(spkiHash);
    // The v1 key is not published: the environment runs Rekor v2 only.
    expect(JSON.stringify(trustedRoot)).not.toContain(material.rekor.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
  });

  it('lists TesseraCT under ctlogs: public URL with the prefix, log id = SHA-256 of the SubjectPublicKeyInfo (what SCTs carry)', () => {
    const [ctlog] = trustedRoot.ctlogs;
    const publicKey = material.tileLogs!.tesseract!.publicKey;
    expect(ctlog.baseUrl).toBe('https://ctlog.example.com/forge');
    expect(ctlog.publicKey.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
    expect(ctlog.logId.keyId).toBe(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    expect(ctlog.checkpointKeyId).toBeUndefined();
  });

  it('@sigstore/verify verifies the bundle with the Rekor v2 entry (checkpoint by the minted key) and the TSA timestamp', () => {
    const publicKey = material.tileLogs!.rekorV2!.publicKey;
    const keyHash = signedNoteKeyHash(REKOR_ORIGIN, publicKey);
    const bundle = withRekorV2Entry(signed, { logKey, logId: keyHash, origin: REKOR_ORIGIN, keyHint: keyHash.subarray(0, 4) });
    expect(() => verify(trustedRoot, bundle)).not.toThrow();
  });

  it('rejects it when the trusted root carries the SPKI-hash log id (the ECDSA rule applied to Ed25519)', () => {
    const publicKey = material.tileLogs!.rekorV2!.publicKey;
    const keyHash = signedNoteKeyHash(REKOR_ORIGIN, publicKey);
    const bundle = withRekorV2Entry(signed, { logKey, logId: keyHash, origin: REKOR_ORIGIN, keyHint: keyHash.subarray(0, 4) });
    const spkiHash = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    const wrong = { ...trustedRoot, tlogs: [{ ...trustedRoot.tlogs[0], logId: { keyId: spkiHash } }] };
    expect(() => verify(wrong, bundle)).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_PROOF_ERROR' }));
  });

  it('rejects a checkpoint signed by another key, under another origin, or a proof that does not lead to it', () => {
    const publicKey = material.tileLogs!.rekorV2!.publicKey;
    const keyHash = signedNoteKeyHash(REKOR_ORIGIN, publicKey);
    const options = { logKey, logId: keyHash, origin: REKOR_ORIGIN, keyHint: keyHash.subarray(0, 4) };
    const otherKey = generateKeyPairSync('ed25519').privateKey;
    expect(() => verify(trustedRoot, withRekorV2Entry(signed, { ...options, logKey: otherKey }))).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_PROOF_ERROR' }));
    expect(() => verify(trustedRoot, withRekorV2Entry(signed, { ...options, origin: 'rekor.elsewhere.example' }))).toThrow(
      expect.objectContaining({ code: 'TLOG_INCLUSION_PROOF_ERROR' }),
    );
    const good = withRekorV2Entry(signed, options) as any;
    const entry = good.bundle.verificationMaterial.tlogEntries[0];
    const tampered = { ...entry, inclusionProof: { ...entry.inclusionProof, hashes: [...entry.inclusionProof.hashes].reverse() } };
    const bad = { ...good, bundle: { ...good.bundle, verificationMaterial: { ...good.bundle.verificationMaterial, tlogEntries: [tampered] } } };
    expect(() => verify(trustedRoot, bad)).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_PROOF_ERROR' }));
  });

  it('needs the TSA timestamp: a Rekor v2 entry gives no integrated time', () => {
    const keyHash = signedNoteKeyHash(REKOR_ORIGIN, material.tileLogs!.rekorV2!.publicKey);
    const bundle = withRekorV2Entry(signed, { logKey, logId: keyHash, origin: REKOR_ORIGIN, keyHint: keyHash.subarray(0, 4) }) as any;
    const withoutTimestamp = { ...bundle, bundle: { ...bundle.bundle, verificationMaterial: { ...bundle.bundle.verificationMaterial, timestampVerificationData: { rfc3161Timestamps: [] } } } };
    expect(() => verify(trustedRoot, withoutTimestamp)).toThrow(expect.objectContaining({ code: 'TIMESTAMP_ERROR' }));
  });

  it('with the default thresholds (one tlog entry, one SCT, one timestamp) the bundle verifies: the SCT by the TesseraCT key, named by its log id', async () => {
    const keyHash = signedNoteKeyHash(REKOR_ORIGIN, material.tileLogs!.rekorV2!.publicKey);
    const rekorV2 = { logKey, logId: keyHash, origin: REKOR_ORIGIN, keyHint: keyHash.subarray(0, 4) };
    const defaults = (root: unknown, bundle: SignedArtifact) =>
      new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root))).verify(toSignedEntity(bundleFromJSON(bundle.bundle), bundle.artifact), {
        subjectAlternativeName: bundle.email,
        extensions: { issuer: bundle.oidcIssuer },
      });
    const withSct = await signArtifact(material, { artifact: Buffer.from('hello tesseract\n'), workDir: join(directory, 'tsa-sct'), sct: sctSignerOf(material.tileLogs!.tesseract!) });
    expect(() => defaults(trustedRoot, withRekorV2Entry(withSct, rekorV2))).not.toThrow();
    // An SCT from the environment's other (unpublished) CT key is not trusted.
    const otherSct = await signArtifact(material, { artifact: Buffer.from('hello ct_server\n'), workDir: join(directory, 'tsa-v1'), sct: sctSignerOf(material.ctlog) });
    expect(() => defaults(trustedRoot, withRekorV2Entry(otherSct, rekorV2))).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR', message: expect.stringContaining('SCT verification failed') }));
  });

  it('the signing config lists Rekor v2 with majorApiVersion 2, and the sigstore signer selects it', () => {
    expect(signingConfig.rekorTlogUrls).toEqual([{ url: `https://${REKOR_ORIGIN}`, majorApiVersion: 2, validFor: { start: expect.any(String) }, operator: 'Test Org' }]);
    expect(signingConfig.tsaUrls[0].url).toBe('https://tsa.example.com/api/v1/timestamp');
    const builder = bundleBuilderFromSigningConfig({
      signingConfig: SigningConfig.fromJSON(signingConfig),
      identityProvider: { getToken: async () => 'unused' },
      bundleType: 'messageSignature',
    }) as any;
    const [rekorWitness, tsaWitness] = builder.witnesses;
    expect(rekorWitness.constructor.name).toBe('RekorWitness');
    expect(rekorWitness.majorApiVersion).toBe(2);
    expect(rekorWitness.tlogV2.rekor.options.baseURL).toBe(`https://${REKOR_ORIGIN}`);
    expect(tsaWitness.constructor.name).toBe('TSAWitness');
  });
});
