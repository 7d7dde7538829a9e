import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Certificate } from '../../lib/pki/certificate';
import { buildCertificate } from '../../lib/pki/certificate-builder';
import { chainProblem } from '../../lib/pki/chain-validation';
import { generateEcKeyPair, subjectKeyIdentifier } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { decryptStateKey, type PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

describe('chainProblem (path validation: OpenSSL links, validity, issuer constraints)', () => {
  const temp = useTempDirectory();
  let material: PkiMaterial;
  beforeEach(async () => {
    material = await fixtureMaterial(temp());
  });
  const at = (iso: string) => new Date(iso);

  it('accepts the minted chains', async () => {
    expect(await chainProblem([material.fulcio.intermediate, material.fulcio.root], at('2026-06-01'))).toBeUndefined();
    expect(await chainProblem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root], at('2026-06-01'))).toBeUndefined();
  });

  it('refuses the wrong anchor, the wrong intermediate, and a time outside the validity', async () => {
    expect(await chainProblem([material.fulcio.intermediate, material.tsa.root], at('2026-06-01'))).toMatch(/"O=Test Org, CN=Fulcio Intermediate CA" was not issued by "O=Test Org, CN=Timestamp Authority Root CA"/);
    expect(await chainProblem([material.tsa.leaf, material.fulcio.intermediate, material.fulcio.root], at('2026-06-01'))).toMatch(/was not issued by "O=Test Org, CN=Fulcio Intermediate CA"/);
    expect(await chainProblem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root], at('2029-01-01'))).toMatch(/expired/);
  });

  it('refuses a certificate whose signature does not verify under its issuer (one bit of the signature flipped)', async () => {
    const der = Buffer.from(material.fulcio.intermediate.der);
    der[der.length - 1] ^= 0x01; // the last byte of the DER is the end of the signature value
    const forged = Certificate.fromDer(der);
    expect(await chainProblem([forged, material.fulcio.root], at('2026-06-01'))).toBe(
      'the signature of "O=Test Org, CN=Fulcio Intermediate CA" does not verify with the key of "O=Test Org, CN=Fulcio Root CA"',
    );
    expect(await chainProblem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root], at('2025-01-01'))).toMatch(/is not valid before/);
  });

  it('enforces the intermediate path length: no CA may sit below the Fulcio intermediate', async () => {
    const intermediateSigner = new LocalSigner(decryptStateKey(material.fulcio.intermediateKey, 'fulcio intermediate'), 'fulcio/intermediate.key.pem');
    const subCaKeys = generateEcKeyPair('P-256');
    const subCa = await buildCertificate(
      {
        subject: { organization: 'Rogue', commonName: 'Sub CA' },
        notBefore: at('2026-02-01'),
        notAfter: at('2026-12-01'),
        publicKey: subCaKeys.publicKey,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
          new x509.SubjectKeyIdentifierExtension(subjectKeyIdentifier(subCaKeys.publicKey).toString('hex')),
        ],
      },
      { signer: intermediateSigner, issuer: material.fulcio.intermediate, purpose: 'test' },
    );
    const leafKeys = generateEcKeyPair('P-256');
    const leaf = await buildCertificate(
      { subject: { commonName: 'leaf' }, notBefore: at('2026-03-01'), notAfter: at('2026-04-01'), publicKey: leafKeys.publicKey, extensions: [] },
      { signer: new LocalSigner(subCaKeys.privateKey, 'memory'), issuer: subCa, purpose: 'test' },
    );
    expect(await chainProblem([leaf, subCa, material.fulcio.intermediate, material.fulcio.root], at('2026-03-15'))).toBe(
      '"O=Test Org, CN=Fulcio Intermediate CA" has path length 0 but 1 CA below it',
    );
    // The sub-CA's own chain is fine: the intermediate may issue end entities.
    expect(await chainProblem([subCa, material.fulcio.intermediate, material.fulcio.root], at('2026-03-15'))).toBeUndefined();
  });
});

describe('chainProblem with a non-CA issuer', () => {
  const temp = useTempDirectory();

  it('refuses a certificate issued by an end entity (the TSA leaf is not a CA)', async () => {
    const material = await fixtureMaterial(temp());
    const leafSigner = new LocalSigner(decryptStateKey(material.tsa.leafKey, 'tsa leaf'), 'tsa/leaf.key.pem');
    const keys = generateEcKeyPair('P-256');
    const issued = await buildCertificate(
      { subject: { commonName: 'issued by a leaf' }, notBefore: new Date('2026-02-01'), notAfter: new Date('2026-03-01'), publicKey: keys.publicKey, extensions: [] },
      { signer: leafSigner, issuer: material.tsa.leaf, purpose: 'test' },
    );
    expect(await chainProblem([issued, material.tsa.leaf, material.tsa.intermediate, material.tsa.root], new Date('2026-02-15'))).toMatch(
      /not a CA/,
    );
  });
});
