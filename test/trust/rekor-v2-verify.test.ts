import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { decryptPrivateKey } from '../../lib/pki/keys';
import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { configFromYaml } from '../helpers/config';
import { inclusionPath, leafHash, treeHash } from '../helpers/merkle';
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

/** The C2SP signed-note key id of an Ed25519 key, computed here from the spec (c2sp.org/signed-note), not by lib/. */
function signedNoteKeyHash(origin: string, publicKey: KeyObject): Buffer {
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([0x01]), raw])).digest();
}

/** A Rekor v2 hashedrekord v0.0.2 entry body for the signed artifact (sigstore/protobuf-specs rekor/v2). */
function hashedRekordV002(signed: SignedArtifact): Buffer {
  const bundle = signed.bundle as any;
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: bundle.messageSignature.messageDigest.digest },
          signature: {
            content: bundle.messageSignature.signature,
            verifier: { x509Certificate: { rawBytes: bundle.verificationMaterial.certificate.rawBytes }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
          },
        },
      },
    }),
  );
}

/**
 * The bundle with a Rekor v2 tlog entry: the entry at index 3 of a 6-entry log, its RFC 6962 inclusion
 * proof, and a checkpoint `origin\nsize\nroot\n` signed as a C2SP signed note (key hint ‖ Ed25519
 * signature) under `origin` with `logKey`.
 */
function withRekorV2Entry(signed: SignedArtifact, options: { logKey: KeyObject; logId: Buffer; origin: string; keyHint: Buffer }) {
  const body = hashedRekordV002(signed);
  const other = (i: number): Buffer => Buffer.from(`other entry ${i}`);
  const entries: Buffer[] = [other(0), other(1), other(2), body, other(4), other(5)];
  const index = 3;
  const root = treeHash(entries);
  const note = `${options.origin}\n${entries.length}\n${root.toString('base64')}\n`;
  const signature = nodeSign(null, Buffer.from(note), options.logKey);
  const envelope = `${note}\n\u2014 ${options.origin} ${Buffer.concat([options.keyHint, signature]).toString('base64')}\n`;
  const bundle = signed.bundle as any;
  const tlogEntry = {
    logIndex: String(index),
    logId: { keyId: options.logId.toString('base64') },
    kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
    integratedTime: '0',
    inclusionProof: {
      logIndex: String(index),
      rootHash: root.toString('base64'),
      treeSize: String(entries.length),
      hashes: inclusionPath(index, entries).map((hash) => hash.toString('base64')),
      checkpoint: { envelope },
    },
    canonicalizedBody: body.toString('base64'),
  };
  expect(leafHash(body)).toHaveLength(32);
  return { ...signed, bundle: { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [tlogEntry] } } };
}

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
