import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bootstrap } from '../../lib/pki/bootstrap';
import { Certificate } from '../../lib/pki/certificate';
import { spkiDer, subjectKeyIdentifier } from '../../lib/pki/keys';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { STATE_ITEMS, certificateKey, readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { configFromYaml, fixedClock } from '../helpers/config';
import { openssl, opensslOk } from '../helpers/openssl';
import { useTempDirectory } from '../helpers/temp-directory';

const CLOCK = fixedClock('2026-03-01T12:00:00Z');
/** openssl verifies at this time (a day after minting), not at the wall clock: the test never ages. */
const VERIFY_AT = String(Math.floor(CLOCK().getTime() / 1000) + 86_400);
const { keyCertSign, cRLSign, digitalSignature } = x509.KeyUsageFlags;
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

function extension<T extends x509.Extension>(certificate: x509.X509Certificate, type: new (raw: ArrayBuffer) => T, oid: string): T | undefined {
  const found = certificate.extensions.find((candidate) => candidate.type === oid);
  return found ? new type(found.rawData) : undefined;
}
const basicConstraints = (c: x509.X509Certificate) => extension(c, x509.BasicConstraintsExtension, '2.5.29.19');
const keyUsage = (c: x509.X509Certificate) => extension(c, x509.KeyUsagesExtension, '2.5.29.15');
const extendedKeyUsage = (c: x509.X509Certificate) => extension(c, x509.ExtendedKeyUsageExtension, '2.5.29.37');
const subjectKeyId = (c: x509.X509Certificate) => extension(c, x509.SubjectKeyIdentifierExtension, '2.5.29.14')?.keyId;
const authorityKeyId = (c: x509.X509Certificate) => extension(c, x509.AuthorityKeyIdentifierExtension, '2.5.29.35')?.keyId;
const skiOf = (c: x509.X509Certificate) => subjectKeyIdentifier(certificateKey(asRead(c))).toString('hex');
/** The profiles are checked with @peculiar/x509 (what mints them), an independent parser of what the read path (lib/pki/certificate.ts) read. */
const asX509 = (c: Certificate) => new x509.X509Certificate(new Uint8Array(c.der));
const asRead = (c: x509.X509Certificate): Certificate => Certificate.fromPem(c.toString('pem'));
const opensslText = (c: x509.X509Certificate) => opensslOk(['x509', '-noout', '-text'], { input: c.toString('pem') });

describe('minted certificate profiles', () => {
  const temp = useTempDirectory();
  let material: PkiMaterial;
  let stateDirectory: string;
  // One mint for the file: every test only reads it (the clamping test mints its own).
  let mintedRoot: string;

  beforeAll(async () => {
    mintedRoot = mkdtempSync(join(tmpdir(), 'sigstore-cdk-profiles-'));
    const config = configFromYaml('organization: Profile Test Org\n', 'profiles');
    const store = new StateStore({ root: join(mintedRoot, '.sigstore'), env: 'profiles' });
    await bootstrap({ config, store, rootKeys: new LocalRootKeys(), clock: CLOCK });
    material = await readPkiMaterial(await store.load());
    stateDirectory = store.directory;
  });
  afterAll(() => rmSync(mintedRoot, { recursive: true, force: true }));

  it('Fulcio root: self-signed CA, keyCertSign + cRLSign, path length 1, no EKU, 10 years, P-384 by the signer', async () => {
    const root = asX509(material.fulcio.root);
    expect(root.subject).toBe('O=Profile Test Org, CN=Fulcio Root CA');
    expect(root.issuer).toBe(root.subject);
    expect(await root.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    expect(basicConstraints(root)).toMatchObject({ ca: true, pathLength: 1, critical: true });
    expect(keyUsage(root)).toMatchObject({ usages: keyCertSign | cRLSign, critical: true });
    expect(extendedKeyUsage(root)).toBeUndefined();
    expect(subjectKeyId(root)).toBe(skiOf(root));
    expect(authorityKeyId(root)).toBeUndefined();
    expect(root.notBefore.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(root.notAfter.toISOString()).toBe('2036-03-01T12:00:00.000Z');
    expect(root.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
    expect(createPublicKey({ key: Buffer.from(root.publicKey.rawData), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    // The root key is the local signer's key, recorded by reference in the manifest.
    const manifest = JSON.parse(readFileSync(join(stateDirectory, 'manifest.json'), 'utf8'));
    expect(manifest.items['fulcio-root'].signedBy).toBe('local:signer/fulcio-root.key.pem');
    // Serial: positive, at most 20 octets, at least 64 bits of entropy.
    expect(root.serialNumber).toMatch(/^[4-7][0-9a-f]{39}$/);

    const text = opensslText(root);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(text).not.toContain('Extended Key Usage');
  });

  it('Fulcio intermediate: CA, path length 0, EKU codeSigning, AKI = root SKI, 5 years inside the root', async () => {
    const [root, intermediate] = [material.fulcio.root, material.fulcio.intermediate].map(asX509);
    expect(intermediate.subject).toBe('O=Profile Test Org, CN=Fulcio Intermediate CA');
    expect(intermediate.issuer).toBe(root.subject);
    expect(await intermediate.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    expect(basicConstraints(intermediate)).toMatchObject({ ca: true, pathLength: 0, critical: true });
    expect(keyUsage(intermediate)).toMatchObject({ usages: keyCertSign | cRLSign, critical: true });
    expect(extendedKeyUsage(intermediate)?.usages).toEqual([CODE_SIGNING]);
    expect(subjectKeyId(intermediate)).toBe(skiOf(intermediate));
    expect(authorityKeyId(intermediate)).toBe(skiOf(root));
    expect(intermediate.notAfter.toISOString()).toBe('2031-03-01T12:00:00.000Z');
    expect(intermediate.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });

    const text = opensslText(intermediate);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \s+Code Signing\n/);
  });

  it('TSA chain: root and intermediate CAs, leaf with exactly one critical EKU timeStamping', async () => {
    const [root, intermediate, leaf] = [material.tsa.root, material.tsa.intermediate, material.tsa.leaf].map(asX509);
    expect(root.issuer).toBe(root.subject);
    expect(basicConstraints(root)).toMatchObject({ ca: true, pathLength: 1, critical: true });
    expect(keyUsage(root)).toMatchObject({ usages: keyCertSign | cRLSign, critical: true });
    expect(extendedKeyUsage(root)).toBeUndefined();

    expect(intermediate.issuer).toBe(root.subject);
    expect(basicConstraints(intermediate)).toMatchObject({ ca: true, pathLength: 0, critical: true });
    expect(extendedKeyUsage(intermediate)?.usages).toEqual([TIME_STAMPING]);
    expect(authorityKeyId(intermediate)).toBe(skiOf(root));

    expect(leaf.subject).toBe('O=Profile Test Org, CN=Timestamp Authority');
    expect(leaf.issuer).toBe(intermediate.subject);
    expect(await leaf.verify({ publicKey: intermediate.publicKey, signatureOnly: true })).toBe(true);
    expect(basicConstraints(leaf)).toMatchObject({ ca: false, critical: true });
    expect(keyUsage(leaf)).toMatchObject({ usages: digitalSignature, critical: true });
    expect(extendedKeyUsage(leaf)).toMatchObject({ usages: [TIME_STAMPING], critical: true });
    expect(authorityKeyId(leaf)).toBe(skiOf(intermediate));
    expect(leaf.notAfter.toISOString()).toBe('2028-03-01T12:00:00.000Z');
    expect(createPublicKey({ key: Buffer.from(leaf.publicKey.rawData), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const text = opensslText(leaf);
    expect(text).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
  });

  it('openssl verifies both chains (strict), and the TSA leaf for the timestamp-signing purpose', () => {
    const write = (name: string, certificates: Certificate[]) => {
      const path = join(temp(), name);
      writeFileSync(path, certificates.map((c) => c.toString('pem')).join('\n'));
      return path;
    };
    const fulcioRoot = write('fulcio-root.pem', [material.fulcio.root]);
    const fulcioIntermediate = write('fulcio-intermediate.pem', [material.fulcio.intermediate]);
    expect(opensslOk(['verify', '-x509_strict', '-attime', VERIFY_AT, '-CAfile', fulcioRoot, fulcioIntermediate])).toContain(': OK');

    const tsaRoot = write('tsa-root.pem', [material.tsa.root]);
    const tsaIntermediate = write('tsa-intermediate.pem', [material.tsa.intermediate]);
    const tsaLeaf = write('tsa-leaf.pem', [material.tsa.leaf]);
    expect(
      opensslOk(['verify', '-x509_strict', '-attime', VERIFY_AT, '-purpose', 'timestampsign', '-CAfile', tsaRoot, '-untrusted', tsaIntermediate, tsaLeaf]),
    ).toContain(': OK');

    // And the checks can fail: the wrong root, or a time outside the validity.
    expect(openssl(['verify', '-x509_strict', '-attime', VERIFY_AT, '-CAfile', tsaRoot, fulcioIntermediate]).status).not.toBe(0);
    expect(openssl(['verify', '-x509_strict', '-attime', String(Math.floor(Date.parse('2040-01-01') / 1000)), '-CAfile', fulcioRoot, fulcioIntermediate]).status).not.toBe(0);
  });

  it('stores every private key as legacy-encrypted SEC1 PEM (AES-256-CBC) that openssl opens with its own password', () => {
    const keyed = [STATE_ITEMS.fulcioIntermediate, STATE_ITEMS.tsaIntermediate, STATE_ITEMS.tsaLeaf, STATE_ITEMS.ctlogKey, STATE_ITEMS.rekorKey, STATE_ITEMS.localFulcioRootKey, STATE_ITEMS.localTsaRootKey];
    const passwords = new Set<string>();
    for (const item of keyed) {
      const keyPath = join(stateDirectory, item.files.privateKey);
      const passwordPath = join(stateDirectory, item.files.password);
      const pem = readFileSync(keyPath, 'utf8');
      expect(pem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,[0-9A-F]{32}\n/);
      const password = readFileSync(passwordPath, 'utf8');
      expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
      passwords.add(password);
      const publicFromKey = opensslOk(['ec', '-in', keyPath, '-passin', `file:${passwordPath}`, '-pubout']);
      expect(openssl(['ec', '-in', keyPath, '-passin', 'pass:wrong-password', '-noout']).status).not.toBe(0);
      const expected = 'certificate' in item.files
        ? certificateKey(Certificate.fromPem(readFileSync(join(stateDirectory, item.files.certificate), 'utf8')))
        : 'publicKey' in item.files
          ? createPublicKey(readFileSync(join(stateDirectory, item.files.publicKey), 'utf8'))
          : undefined;
      if (expected) expect(spkiDer(createPublicKey(publicFromKey))).toEqual(spkiDer(expected));
    }
    expect(passwords.size).toBe(keyed.length); // one password per key
    // The local root keys are the keys of the roots.
    const rootKey = opensslOk(['ec', '-in', join(stateDirectory, STATE_ITEMS.localFulcioRootKey.files.privateKey), '-passin', `file:${join(stateDirectory, STATE_ITEMS.localFulcioRootKey.files.password)}`, '-pubout']);
    expect(spkiDer(createPublicKey(rootKey))).toEqual(spkiDer(certificateKey(material.fulcio.root)));
  });

  it('uses P-256 keys for the transparency logs', () => {
    for (const log of [material.ctlog, material.rekor]) {
      expect(log.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(log.createdAt.toISOString()).toBe('2026-03-01T12:00:00.000Z');
      expect(createHash('sha256').update(spkiDer(log.publicKey)).digest()).toHaveLength(32);
    }
  });
});

describe('validity periods from config', () => {
  const temp = useTempDirectory();

  it('clamps issued certificates to their issuer: an intermediate never outlives its root', async () => {
    const config = configFromYaml(
      'organization: Clamp Org\npki:\n  fulcio: { rootValidity: 2y, intermediateValidity: 20y }\n  tsa: { rootValidity: 90d, intermediateValidity: 1y, leafValidity: 10y }\n',
      'clamp',
    );
    const store = new StateStore({ root: join(temp(), '.sigstore'), env: 'clamp' });
    await bootstrap({ config, store, rootKeys: new LocalRootKeys(), clock: CLOCK });
    const material = await readPkiMaterial(await store.load());
    expect(material.fulcio.root.notAfter.toISOString()).toBe('2028-03-01T12:00:00.000Z');
    expect(material.fulcio.intermediate.notAfter).toEqual(material.fulcio.root.notAfter);
    expect(material.tsa.root.notAfter.toISOString()).toBe('2026-05-30T12:00:00.000Z');
    expect(material.tsa.intermediate.notAfter).toEqual(material.tsa.root.notAfter);
    expect(material.tsa.leaf.notAfter).toEqual(material.tsa.root.notAfter);
  });
});
