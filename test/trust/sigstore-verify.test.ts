import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { devConfig } from '../helpers/config';
import { explainTimestamp, signArtifact, verifyWithSigstore, type SignedArtifact } from '../helpers/sigstore-bundle';

/** Mints a fresh state with the local signer and synthesizes its outputs; returns the trusted root and material. */
async function mintAndSynth(directory: string) {
  const config = devConfig('verify');
  const stateRoot = join(directory, '.sigstore');
  const outDir = join(directory, 'dist');
  // A minute in the past, so that openssl's timestamps (wall clock) fall inside every validity window.
  await synth({ config, stateRoot, outDir, clock: () => new Date(Date.now() - 60_000) });
  const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: config.env }).load());
  const trustedRoot = JSON.parse(readFileSync(join(outDir, 'trust', 'trusted_root.json'), 'utf8'));
  return { material, trustedRoot };
}

describe('@sigstore/verify against the generated trusted_root.json', () => {
  // One mint and one signed bundle for the whole file: every test only reads them (each variant is a copy).
  let directory: string;
  let first: Awaited<ReturnType<typeof mintAndSynth>>;
  let signed: SignedArtifact;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sigstore-verify-'));
    first = await mintAndSynth(join(directory, 'first'));
    signed = await signArtifact(first.material, { artifact: Buffer.from('hello sigstore-cdk\n'), workDir: join(directory, 'tsa') });
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('verifies a bundle with a Fulcio-style certificate and an RFC 3161 timestamp from the minted TSA', () => {
    expect(() => verifyWithSigstore(first.trustedRoot, signed)).not.toThrow();
  });

  it('rejects the same bundle against the trusted root of another mint', async () => {
    const other = await mintAndSynth(join(directory, 'other'));
    // The timestamp is checked first: the other mint's TSA did not sign it.
    expect(() => verifyWithSigstore(other.trustedRoot, signed)).toThrow(expect.objectContaining({ code: 'TIMESTAMP_ERROR' }));
    // The refusal says what openssl makes of the token with each trusted TSA chain at its genTime: no match here, OK with its own.
    expect(() => verifyWithSigstore(other.trustedRoot, signed)).toThrow(/^timestamp could not be verified \(genTime \S+Z; TSA 0 valid for \S+\.\.\S+: openssl ts -verify: FAILED \(.+\)\)$/);
    expect(explainTimestamp(first.trustedRoot, signed.timestampDirectory!)).toMatch(/^genTime \S+Z; TSA 0 valid for \S+\.\.\S+: openssl ts -verify: OK$/);
    // With this mint's TSA but the other mint's Fulcio CA, the certificate chain is what fails.
    const mixed = { ...first.trustedRoot, certificateAuthorities: other.trustedRoot.certificateAuthorities };
    expect(() => verifyWithSigstore(mixed, signed)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_ERROR' }));
  });

  it('rejects the bundle when the identity policy does not match', () => {
    expect(() => verifyWithSigstore(first.trustedRoot, { ...signed, email: 'someone-else@example.com' })).toThrow(
      expect.objectContaining({ code: 'UNTRUSTED_SIGNER_ERROR' }),
    );
  });

  it('rejects a tampered artifact', () => {
    expect(() => verifyWithSigstore(first.trustedRoot, { ...signed, artifact: Buffer.from('tampered\n') })).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_ERROR' }),
    );
  });

  it('requires the timestamp: without it the short-lived certificate cannot be trusted', () => {
    const material = signed.bundle.verificationMaterial as Record<string, unknown>;
    const withoutTimestamp = { ...signed, bundle: { ...signed.bundle, verificationMaterial: { ...material, timestampVerificationData: { rfc3161Timestamps: [] } } } };
    expect(() => verifyWithSigstore(first.trustedRoot, withoutTimestamp)).toThrow(
      expect.objectContaining({ code: 'TIMESTAMP_ERROR', message: 'expected 1 timestamps, got 0' }),
    );
  });
});
