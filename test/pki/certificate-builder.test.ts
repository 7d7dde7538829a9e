import { verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { buildCertificate, type CertificateTemplate } from '../../lib/pki/certificate-builder';
import { readOid, readTime, readTlv, readWhole } from '../../lib/pki/der';
import { derElement, derOid, derSmallInteger, derTime, derUnsignedInteger } from '../../lib/pki/der-writer';
import { generateEcKeyPair, spkiDer, type Curve } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { fulcioIntermediateProfile, fulcioRootProfile, tsaLeafProfile } from '../../lib/pki/profiles';
import type { Certificate } from '../../lib/pki/certificate';
import { opensslOk } from '../helpers/openssl';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The builder assembles the TBSCertificate and the certificate from DER parts (lib/pki/der-writer.ts)
 * instead of building @peculiar/asn1-schema objects and serializing them. The reference here is that
 * way, with the same template: @peculiar/asn1-schema's serializer must write the same bytes.
 */

/** The TBSCertificate of `template` as @peculiar/asn1-schema serializes it (how the builder used to make it). */
function referenceTbs(template: CertificateTemplate, serialNumber: Uint8Array, algorithmOid: string, issuerName?: Uint8Array): Buffer {
  const name = (der: ArrayBuffer | Uint8Array) => AsnConvert.parse(der, asn1X509.Name);
  const subject = name(
    new x509.Name([...(template.subject.organization ? [{ O: [template.subject.organization] }] : []), ...(template.subject.commonName ? [{ CN: [template.subject.commonName] }] : [])]).toArrayBuffer(),
  );
  let start = 0;
  while (start < serialNumber.length - 1 && serialNumber[start] === 0) start++;
  const trimmed = serialNumber.subarray(start);
  const serial = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
  const seconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new asn1X509.AlgorithmIdentifier({ algorithm: algorithmOid }),
    issuer: issuerName ? name(issuerName) : subject,
    validity: new asn1X509.Validity({ notBefore: seconds(template.notBefore), notAfter: seconds(template.notAfter) }),
    subject,
    subjectPublicKeyInfo: AsnConvert.parse(spkiDer(template.publicKey), asn1X509.SubjectPublicKeyInfo),
    // The builder writes no extensions field for none (RFC 5280: SIZE (1..MAX)); asn1-schema wrote an empty one.
    extensions: template.extensions.length > 0 ? new asn1X509.Extensions(template.extensions.map((extension) => AsnConvert.parse(extension.rawData, asn1X509.Extension))) : undefined,
  });
  return Buffer.from(AsnConvert.serialize(tbs));
}

/** The TBSCertificate, signature algorithm and signature value of a certificate's DER. */
function partsOf(certificate: Certificate): { tbs: Buffer; algorithm: Buffer; signature: Buffer } {
  const outer = readWhole(certificate.der);
  const tbs = readTlv(certificate.der, outer.contentStart, outer.end);
  const algorithm = readTlv(certificate.der, tbs.end, outer.end);
  const signature = readTlv(certificate.der, algorithm.end, outer.end);
  expect(signature.end).toBe(outer.end);
  const slice = (tlv: { start: number; end: number }) => Buffer.from(certificate.der.subarray(tlv.start, tlv.end));
  return { tbs: slice(tbs), algorithm: slice(algorithm), signature: slice(signature) };
}

const OIDS: Record<Curve, string> = { 'P-256': '1.2.840.10045.4.3.2', 'P-384': '1.2.840.10045.4.3.3' };

describe('buildCertificate assembles DER', () => {
  const temp = useTempDirectory();
  const root = generateEcKeyPair('P-384');
  const intermediate = generateEcKeyPair('P-256');
  const leaf = generateEcKeyPair('P-256');
  const rootSigner = new LocalSigner(root.privateKey, 'root.key.pem');
  const intermediateSigner = new LocalSigner(intermediate.privateKey, 'intermediate.key.pem');

  // Serials: a leading zero and then the high bit; a single byte under it; 20 bytes.
  const rootTemplate: CertificateTemplate = {
    ...fulcioRootProfile({ organization: 'Builder Org', notBefore: new Date('2026-03-01T12:00:00.789Z'), notAfter: new Date('2036-03-01T12:00:00Z'), publicKey: root.publicKey }),
    serialNumber: Buffer.from('00ff01', 'hex'),
  };
  const intermediateTemplate: CertificateTemplate = {
    ...fulcioIntermediateProfile({ organization: 'Builder Org', notBefore: new Date('2026-03-01T12:00:00Z'), notAfter: new Date('2031-03-01T12:00:00Z'), publicKey: intermediate.publicKey, issuerPublicKey: root.publicKey }),
    serialNumber: Buffer.from('7f', 'hex'),
  };
  const leafTemplate: CertificateTemplate = {
    ...tsaLeafProfile({ organization: 'Builder Org', notBefore: new Date('2049-06-01T00:00:00Z'), notAfter: new Date('2051-01-01T00:00:00Z'), publicKey: leaf.publicKey, issuerPublicKey: intermediate.publicKey }),
    serialNumber: Buffer.from('4a'.repeat(20), 'hex'),
  };

  let rootCertificate: Certificate;
  let intermediateCertificate: Certificate;

  beforeAll(async () => {
    rootCertificate = await buildCertificate(rootTemplate, { signer: rootSigner, purpose: 'test root' });
    intermediateCertificate = await buildCertificate(intermediateTemplate, { signer: rootSigner, issuer: rootCertificate, purpose: 'test intermediate' });
  });

  it.each([
    ['a self-signed P-384 root, a serial with a leading zero and its high bit then set', 'root'],
    ['an intermediate signed by it (the issuer name as the root holds it)', 'intermediate'],
    ['a leaf valid past 2049 (GeneralizedTime), a long random serial', 'leaf'],
    ['a certificate without extensions (none is written, not an empty list)', 'bare'],
  ])('%s: the TBSCertificate is byte for byte what @peculiar/asn1-schema serializes', async (_name, which) => {
    const byRoot = which === 'root' || which === 'intermediate';
    const template = { root: rootTemplate, intermediate: intermediateTemplate, leaf: leafTemplate, bare: { ...leafTemplate, subject: {}, extensions: [] } }[which]!;
    const issuer = which === 'root' ? undefined : byRoot ? rootCertificate : intermediateCertificate;
    const certificate = await buildCertificate(template, { signer: byRoot ? rootSigner : intermediateSigner, issuer, purpose: `test ${which}` });
    const oid = OIDS[byRoot ? 'P-384' : 'P-256'];
    const serial = template.serialNumber!;
    const { tbs, algorithm, signature } = partsOf(certificate);
    expect(tbs.toString('hex')).toBe(referenceTbs(template, serial, oid, issuer?.subjectDer).toString('hex'));
    // The whole certificate, read and written again by @peculiar/asn1-schema, is the same bytes.
    const reread = AsnConvert.parse(certificate.der, asn1X509.Certificate);
    expect(Buffer.from(AsnConvert.serialize(reread)).toString('hex')).toBe(Buffer.from(certificate.der).toString('hex'));
    expect(reread.signatureAlgorithm.algorithm).toBe(oid);
    expect(reread.signatureAlgorithm.parameters).toBeUndefined();
    expect(algorithm.toString('hex')).toBe(Buffer.from(AsnConvert.serialize(reread.tbsCertificate.signature)).toString('hex'));
    // The signature is over the TBSCertificate, by the issuer's key.
    expect(verify(byRoot ? 'sha384' : 'sha256', tbs, { key: byRoot ? root.publicKey : intermediate.publicKey, dsaEncoding: 'der' }, Buffer.from(reread.signatureValue))).toBe(true);
    expect(signature[0]).toBe(0x03);
    if (which === 'bare') expect(reread.tbsCertificate.extensions).toBeUndefined();
    if (which === 'leaf') {
      expect(reread.tbsCertificate.validity.notBefore.utcTime).toEqual(new Date('2049-06-01T00:00:00Z'));
      expect(reread.tbsCertificate.validity.notAfter.generalTime).toEqual(new Date('2051-01-01T00:00:00Z'));
    }
  });

  it('openssl reads the chain and verifies it strictly', () => {
    const rootFile = join(temp(), 'root.pem');
    const intermediateFile = join(temp(), 'intermediate.pem');
    writeFileSync(rootFile, `${rootCertificate.toString('pem')}\n`);
    writeFileSync(intermediateFile, `${intermediateCertificate.toString('pem')}\n`);
    const at = String(Date.parse('2026-06-01T00:00:00Z') / 1000);
    expect(opensslOk(['verify', '-x509_strict', '-attime', at, '-CAfile', rootFile, intermediateFile])).toContain(': OK');
    const text = opensslOk(['x509', '-noout', '-text', '-in', intermediateFile]);
    expect(text).toContain('Issuer: O = Builder Org, CN = Fulcio Root CA');
    expect(text).toMatch(/Serial Number: 127 \(0x7f\)/);
    expect(text).toContain('CA:TRUE, pathlen:0');
    const rootDer = join(temp(), 'root.der');
    writeFileSync(rootDer, rootCertificate.der);
    expect(opensslOk(['asn1parse', '-inform', 'DER', '-in', rootDer])).toMatch(/prim: INTEGER +:FF01/);
  });
});

describe('the DER writer', () => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

  it('writes minimal definite lengths, short and long form', () => {
    expect(hex(derElement(0x04, Buffer.alloc(0)))).toBe('0400');
    expect(hex(derElement(0x04, Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(derElement(0x04, Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(derElement(0x04, Buffer.alloc(300))).slice(0, 8)).toBe('0482012c');
    expect(hex(derElement(0x04, Buffer.alloc(70000))).slice(0, 10)).toBe('0483011170');
    const long = derElement(0x04, Buffer.alloc(300, 7));
    expect(readWhole(long).end).toBe(long.length);
  });

  it('writes INTEGERs minimal and positive', () => {
    expect(hex(derUnsignedInteger(Buffer.from('00000001', 'hex')))).toBe('020101');
    expect(hex(derUnsignedInteger(Buffer.from('80', 'hex')))).toBe('02020080');
    expect(hex(derUnsignedInteger(Buffer.from('0080', 'hex')))).toBe('02020080');
    expect(hex(derUnsignedInteger(Buffer.from('0000', 'hex')))).toBe('020100');
    expect(hex(derSmallInteger(2))).toBe('020102');
    expect(hex(derSmallInteger(300))).toBe('0202012c');
    expect(() => derSmallInteger(-1)).toThrow(RangeError);
  });

  it('writes OBJECT IDENTIFIERs that the reader and openssl read back', () => {
    expect(hex(derOid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(derOid('2.999.3'))).toBe('0603883703');
    for (const oid of ['1.3.6.1.5.5.7.3.8', '2.5.29.19', '1.3.6.1.4.1.57264.1.1', '0.9.2342.19200300.100.1.25']) {
      expect(readOid(readWhole(derOid(oid)))).toBe(oid);
    }
    for (const bad of ['1', '3.1', '1.40', '1.2.x', '1..2', '1.02']) expect(() => derOid(bad)).toThrow(`"${bad}" is not an object identifier`);
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), in whole seconds', () => {
    const text = (date: Date) => Buffer.from(derTime(date).subarray(2)).toString('latin1');
    expect(derTime(new Date('2049-12-31T23:59:59.999Z'))[0]).toBe(0x17);
    expect(text(new Date('2049-12-31T23:59:59.999Z'))).toBe('491231235959Z');
    expect(derTime(new Date('2050-01-01T00:00:00Z'))[0]).toBe(0x18);
    expect(text(new Date('2050-01-01T00:00:00Z'))).toBe('20500101000000Z');
    expect(text(new Date('1999-02-03T04:05:06Z'))).toBe('990203040506Z');
    for (const iso of ['1950-01-01T00:00:00Z', '2026-03-01T12:00:00Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      expect(readTime(readWhole(derTime(new Date(iso)))).toISOString()).toBe(new Date(iso).toISOString());
    }
    expect(() => derTime(new Date('1949-12-31T23:59:59Z'))).toThrow(RangeError);
    expect(() => derTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
