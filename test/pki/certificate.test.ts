import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';
import { rootSignedArtifacts } from '../../lib/custody/root-signed';
import { StateError } from '../../lib/errors';
import { Certificate, KEY_USAGE } from '../../lib/pki/certificate';
import { DerError, readOid, readTime, readTlv, readWhole } from '../../lib/pki/der';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { copyFixtureState, FIXTURE_ENV } from '../helpers/fixture-state';
import { opensslOk } from '../helpers/openssl';
import { rehashManifest } from '../helpers/state-tampering';
import { useTempDirectory } from '../helpers/temp-directory';

const FIXTURE_CERTIFICATES = ['fulcio/root.crt.pem', 'fulcio/intermediate.crt.pem', 'tsa/root.crt.pem', 'tsa/intermediate.crt.pem', 'tsa/leaf.crt.pem'];
const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'state', FIXTURE_ENV);
const pemOf = (path: string) => readFileSync(join(FIXTURE_DIR, path), 'utf8');

describe('Certificate (the read path: node:crypto and the DER reader, no @peculiar/x509)', () => {
  it.each(FIXTURE_CERTIFICATES)('%s reads as @peculiar/x509, pkijs and OpenSSL read it', (path) => {
    const pem = pemOf(path);
    const certificate = Certificate.fromPem(pem);
    const reference = new x509.X509Certificate(pem);
    const pkijsCertificate = pkijs.Certificate.fromBER(reference.rawData);

    expect(certificate.der).toEqual(Buffer.from(reference.rawData));
    expect(certificate.subject).toBe(reference.subject);
    expect(certificate.issuer).toBe(reference.issuer);
    expect(certificate.subjectField('O')).toEqual(reference.subjectName.getField('O'));
    expect(certificate.subjectField('CN')).toEqual(reference.subjectName.getField('CN'));
    expect(certificate.subjectDer).toEqual(Buffer.from(reference.subjectName.toArrayBuffer()));
    expect(certificate.serialNumber).toBe(reference.serialNumber);
    expect(certificate.notBefore).toEqual(reference.notBefore);
    expect(certificate.notAfter).toEqual(reference.notAfter);
    expect(certificate.spki).toEqual(Buffer.from(reference.publicKey.rawData));
    expect(certificate.publicKey.export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(reference.publicKey.rawData));
    expect(certificate.tbs).toEqual(Buffer.from(pkijsCertificate.tbsView));
    expect(certificate.signature).toEqual(Buffer.from(pkijsCertificate.signatureValue.valueBlock.valueHexView));
    expect(certificate.signatureAlgorithm).toBe(pkijsCertificate.signatureAlgorithm.algorithmId);
    const constraints = reference.getExtension(x509.BasicConstraintsExtension);
    expect(certificate.basicConstraints).toEqual(constraints && (constraints.pathLength === undefined ? { ca: constraints.ca } : { ca: constraints.ca, pathLength: constraints.pathLength }));
    expect(certificate.keyUsage).toBe(reference.getExtension(x509.KeyUsagesExtension)?.usages);
    // The PEM the outputs carry is byte for byte what the minting library writes.
    expect(certificate.toString('pem')).toBe(reference.toString('pem'));
    // OpenSSL reads the same validity.
    const dates = opensslOk(['x509', '-noout', '-startdate', '-enddate', '-dateopt', 'iso_8601'], { input: pem });
    expect(dates).toContain(`notBefore=${certificate.notBefore.toISOString().replace('T', ' ').replace('.000Z', 'Z')}`);
    expect(dates).toContain(`notAfter=${certificate.notAfter.toISOString().replace('T', ' ').replace('.000Z', 'Z')}`);
  });

  it('reads the profiles: the CAs with keyCertSign and their path lengths, the TSA leaf as an end entity', () => {
    const [fulcioRoot, fulcioIntermediate, , , tsaLeaf] = FIXTURE_CERTIFICATES.map((path) => Certificate.fromPem(pemOf(path)));
    expect(fulcioRoot.basicConstraints).toEqual({ ca: true, pathLength: 1 });
    expect(fulcioIntermediate.basicConstraints).toEqual({ ca: true, pathLength: 0 });
    expect(fulcioRoot.keyUsage).toBe(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign);
    expect(tsaLeaf.basicConstraints).toEqual({ ca: false });
    expect(tsaLeaf.keyUsage).toBe(KEY_USAGE.digitalSignature);
    expect(fulcioIntermediate.checkIssued(fulcioRoot)).toBe(true);
    expect(fulcioIntermediate.verify(fulcioRoot.publicKey)).toBe(true);
    expect(fulcioRoot.checkIssued(fulcioIntermediate)).toBe(false);
    expect(fulcioIntermediate.verify(fulcioIntermediate.publicKey)).toBe(false);
  });

  it('prints names as @peculiar/x509 does: escaping, multi-valued RDNs, string types, unknown attribute types', async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const name: x509.JsonName = [
      { CN: ['comma, plus+ quote" <angle> ;semi'], O: ['multi-valued'] },
      { O: [' leading space and trailing space '] },
      { OU: ['#1203313233'] }, // not a directory string: a NumericString, printed as # and its encoding's hex
      { E: ['ia5@example.com'] },
      { CN: ['ünïcödé ✓'] },
      { '2.5.4.5': ['serial-attribute'] },
      { L: ['line\nbreak'] },
    ];
    const reference = await x509.X509CertificateGenerator.createSelfSigned({
      name,
      serialNumber: '01',
      notBefore: new Date('2049-12-31T23:59:59Z'),
      notAfter: new Date('2050-01-01T00:00:00Z'),
      keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const certificate = Certificate.fromDer(new Uint8Array(reference.rawData));
    expect(certificate.subject).toBe(reference.subject);
    expect(certificate.subject).toBe(
      'CN=comma\\, plus\\+ quote\\" \\<angle\\> \\;semi+O=multi-valued, O=\\ leading space and trailing space\\ , OU=#1203313233, E=ia5@example.com, CN=ünïcödé ✓, 2.5.4.5=serial-attribute, L=line\\0Abreak',
    );
    expect(certificate.subjectField('CN')).toEqual(reference.subjectName.getField('CN'));
    expect(certificate.subjectField('2.5.4.5')).toEqual(['serial-attribute']);
    // UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
    expect(certificate.notBefore.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(certificate.notAfter.toISOString()).toBe('2050-01-01T00:00:00.000Z');
    expect(certificate.basicConstraints).toBeUndefined();
    expect(certificate.keyUsage).toBeUndefined();
  });
});

describe('Certificate refuses malformed input', () => {
  const der = Buffer.from(Certificate.fromPem(pemOf('fulcio/intermediate.crt.pem')).der);
  const refused = (bytes: Uint8Array) => {
    try {
      Certificate.fromDer(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(DerError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('truncated, with trailing bytes, indefinite or non-minimal lengths', () => {
    expect(refused(der.subarray(0, der.length - 1))).toMatch(/^element at byte 0 runs past its end/);
    expect(refused(Buffer.concat([der, Buffer.from([0])]))).toBe('1 bytes after the element');
    expect(refused(Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(4)]))).toBe('indefinite length at byte 0 (not DER)');
    expect(der[1]).toBe(0x82); // two length octets; the same length in three is not DER
    expect(refused(Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), der.subarray(2)]))).toBe('non-minimal length at byte 0 (not DER)');
    expect(refused(Buffer.alloc(0))).toBe('truncated element at byte 0');
  });

  it('something else than a certificate, and a certificate with an impossible date', () => {
    const spki = Certificate.fromPem(pemOf('fulcio/intermediate.crt.pem')).spki;
    expect(refused(spki)).toMatch(/^Certificate has 2 elements, expected 3$/);
    const badMonth = Buffer.from(der);
    const utcTime = badMonth.indexOf(Buffer.from([0x17, 0x0d]));
    badMonth.write('13', utcTime + 4, 'latin1'); // YYMMDD...: the month
    expect(refused(badMonth)).toMatch(/^time at byte \d+ is not a valid date: "\d\d13/);
    expect(() => Certificate.fromPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(new DerError('no PEM CERTIFICATE block'));
    expect(() => Certificate.fromPem('-----BEGIN CERTIFICATE-----\nAA=A\n-----END CERTIFICATE-----\n')).toThrow(new DerError('the PEM block is not base64'));
  });

  it('the DER reader: object identifiers, times, tags', () => {
    expect(readOid(readWhole(Buffer.from('0603551d13', 'hex')))).toBe('2.5.29.19');
    expect(readOid(readWhole(Buffer.from('06082a8648ce3d040303', 'hex')))).toBe('1.2.840.10045.4.3.3');
    expect(readOid(readWhole(Buffer.from('06092a864886f70d010901', 'hex')))).toBe('1.2.840.113549.1.9.1');
    expect(() => readOid(readWhole(Buffer.from('0602558', 'hex')))).toThrow(DerError);
    const time = (tag: number, text: string) => readTime(readWhole(Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text, 'latin1')])));
    expect(time(0x17, '491231235959Z').toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(time(0x17, '500101000000Z').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(time(0x18, '99991231235959Z').toISOString()).toBe('9999-12-31T23:59:59.000Z');
    expect(() => time(0x17, '500101000000+0100')).toThrow(/is not YYMMDDHHMMSSZ/);
    expect(() => time(0x18, '20260230000000Z')).toThrow(/is not a valid date/);
    expect(() => readTlv(Buffer.from('1f2201', 'hex'), 0)).toThrow(/high tag number/);
  });
});

describe('a state certificate that does not parse', () => {
  const temp = useTempDirectory();

  it('is refused by the material and the custody checks with a StateError naming the file', async () => {
    const stateRoot = copyFixtureState(temp());
    const stateDir = join(stateRoot, FIXTURE_ENV);
    const pem = readFileSync(join(stateDir, 'fulcio/intermediate.crt.pem'), 'utf8');
    const lines = pem.trimEnd().split('\n');
    // One base64 line less: the DER ends before its declared length.
    writeFileSync(join(stateDir, 'fulcio/intermediate.crt.pem'), `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`);
    rehashManifest(stateDir);
    const snapshot = await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load();
    const expected = /^fulcio\/intermediate\.crt\.pem is not a PEM certificate: element at byte 0 runs past its end/;
    const materialError = await readPkiMaterial(snapshot).catch((error: unknown) => error);
    expect(materialError).toBeInstanceOf(StateError);
    expect(materialError).toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(expected) });
    let custodyError: unknown;
    try {
      rootSignedArtifacts(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load());
    } catch (error) {
      custodyError = error;
    }
    expect(custodyError).toBeInstanceOf(StateError);
    expect(custodyError).toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(expected) });
  });
});
