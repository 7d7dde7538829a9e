import { generateKeyPairSync } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  authorityKeyIdentifierExtension,
  basicConstraints,
  extendedKeyUsage,
  keyUsage,
  nameDer,
  subjectKeyIdentifierExtension,
  type CertificateExtension,
} from '../../lib/pki/certificate-fields';
import { derNamedBits, derSetOf } from '../../lib/pki/der-writer';
import { subjectKeyIdentifier } from '../../lib/pki/keys';
import { fulcioIntermediateProfile, fulcioRootProfile, tsaIntermediateProfile, tsaLeafProfile, tsaRootProfile } from '../../lib/pki/profiles';

/*
 * The names and extensions we mint are written by lib/pki/certificate-fields.ts. @peculiar/x509 wrote
 * them before (and every certificate in a state minted before this change has its bytes): each one
 * here is byte for byte what @peculiar/x509 writes for the same value, so a re-mint encodes as the
 * first mint did, and a certificate of either verifies the same. openssl's view of whole certificates
 * is in profiles.test.ts and certificate-builder.test.ts.
 */
const hex = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
const { keyCertSign, cRLSign, digitalSignature } = x509.KeyUsageFlags;

describe('certificate names and extensions (lib/pki/certificate-fields.ts), as @peculiar/x509 writes them', () => {
  it.each([
    ['organization and common name', { organization: 'Example Forge', commonName: 'Fulcio Root CA' }, [{ O: ['Example Forge'] }, { CN: ['Fulcio Root CA'] }]],
    ['a PrintableString with its punctuation', { organization: "O'Brien (Dublin) +1, a/b-c.d:e=f?", commonName: 'x' }, [{ O: ["O'Brien (Dublin) +1, a/b-c.d:e=f?"] }, { CN: ['x'] }]],
    ['a UTF8String for "&", "@", "_" and letters outside ASCII', { organization: 'Müller & Söhne_GmbH @ 東京', commonName: 'Timestamp Authority' }, [{ O: ['Müller & Söhne_GmbH @ 東京'] }, { CN: ['Timestamp Authority'] }]],
    ['the common name only', { commonName: 'leaf' }, [{ CN: ['leaf'] }]],
    ['an empty name', {}, []],
  ])('a name: %s', (_case, name, peculiar) => {
    expect(hex(nameDer(name))).toBe(hex(new x509.Name(peculiar as x509.JsonName).toArrayBuffer()));
  });

  const keyId = subjectKeyIdentifier(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
  it.each<[string, CertificateExtension, x509.Extension]>([
    ['basic constraints of a root (path length 1, critical)', basicConstraints(true, 1, true), new x509.BasicConstraintsExtension(true, 1, true)],
    ['basic constraints of an intermediate (path length 0)', basicConstraints(true, 0, true), new x509.BasicConstraintsExtension(true, 0, true)],
    ['basic constraints of a leaf (an empty SEQUENCE)', basicConstraints(false, undefined, true), new x509.BasicConstraintsExtension(false, undefined, true)],
    ['basic constraints, not critical', basicConstraints(true, undefined, false), new x509.BasicConstraintsExtension(true, undefined, false)],
    ['key usage keyCertSign + cRLSign', keyUsage(['keyCertSign', 'cRLSign'], true), new x509.KeyUsagesExtension(keyCertSign | cRLSign, true)],
    ['key usage digitalSignature', keyUsage(['digitalSignature'], true), new x509.KeyUsagesExtension(digitalSignature, true)],
    ['extended key usage codeSigning, not critical', extendedKeyUsage(['1.3.6.1.5.5.7.3.3'], false), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3'], false)],
    ['extended key usage timeStamping, critical', extendedKeyUsage(['1.3.6.1.5.5.7.3.8'], true), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.8'], true)],
    ['subject key identifier', subjectKeyIdentifierExtension(keyId), new x509.SubjectKeyIdentifierExtension(keyId.toString('hex'))],
    ['authority key identifier', authorityKeyIdentifierExtension(keyId), new x509.AuthorityKeyIdentifierExtension(keyId.toString('hex'))],
  ])('an extension: %s', (_case, ours, peculiar) => {
    expect(hex(ours.rawData)).toBe(hex(peculiar.rawData));
  });

  it('every profile has the extensions @peculiar/x509 reads back as the profile says', () => {
    const key = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const base = { organization: 'Example', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), publicKey: key() };
    const issued = { ...base, issuerPublicKey: key() };
    const read = (extensions: readonly CertificateExtension[]) =>
      extensions.map((extension) => x509.ExtensionFactory.create(new Uint8Array(extension.rawData instanceof Uint8Array ? extension.rawData : new Uint8Array(extension.rawData))));
    const describe = (extension: x509.Extension) => {
      if (extension instanceof x509.BasicConstraintsExtension) return `basicConstraints ca=${extension.ca} pathLength=${extension.pathLength} critical=${extension.critical}`;
      if (extension instanceof x509.KeyUsagesExtension) return `keyUsage ${extension.usages} critical=${extension.critical}`;
      if (extension instanceof x509.ExtendedKeyUsageExtension) return `extendedKeyUsage ${extension.usages.join(',')} critical=${extension.critical}`;
      if (extension instanceof x509.SubjectKeyIdentifierExtension) return `subjectKeyIdentifier critical=${extension.critical}`;
      if (extension instanceof x509.AuthorityKeyIdentifierExtension) return `authorityKeyIdentifier critical=${extension.critical}`;
      return `unexpected ${extension.type}`;
    };
    const ca = (pathLength: number) => [`basicConstraints ca=true pathLength=${pathLength} critical=true`, `keyUsage ${keyCertSign | cRLSign} critical=true`];
    expect(read(fulcioRootProfile(base).extensions).map(describe)).toEqual([...ca(1), 'subjectKeyIdentifier critical=false']);
    expect(read(fulcioIntermediateProfile(issued).extensions).map(describe)).toEqual([...ca(0), 'extendedKeyUsage 1.3.6.1.5.5.7.3.3 critical=false', 'subjectKeyIdentifier critical=false', 'authorityKeyIdentifier critical=false']);
    expect(read(tsaRootProfile(base).extensions).map(describe)).toEqual([...ca(1), 'subjectKeyIdentifier critical=false']);
    expect(read(tsaIntermediateProfile(issued).extensions).map(describe)).toEqual([...ca(0), 'extendedKeyUsage 1.3.6.1.5.5.7.3.8 critical=false', 'subjectKeyIdentifier critical=false', 'authorityKeyIdentifier critical=false']);
    expect(read(tsaLeafProfile(issued).extensions).map(describe)).toEqual([
      'basicConstraints ca=false pathLength=undefined critical=true',
      `keyUsage ${digitalSignature} critical=true`,
      'extendedKeyUsage 1.3.6.1.5.5.7.3.8 critical=true',
      'subjectKeyIdentifier critical=false',
      'authorityKeyIdentifier critical=false',
    ]);
  });
});

describe('the DER writer for named bits and SET OF (lib/pki/der-writer.ts)', () => {
  it('writes named bits with trailing zero bits removed (X.690 §11.2.2), over byte boundaries too', () => {
    expect(hex(derNamedBits([]))).toBe('030100');
    expect(hex(derNamedBits([0]))).toBe('03020780');
    expect(hex(derNamedBits([5, 6]))).toBe('03020106');
    expect(hex(derNamedBits([7]))).toBe('03020001');
    expect(hex(derNamedBits([0, 8]))).toBe('0303078080');
    expect(() => derNamedBits([64])).toThrow('not bit numbers');
  });

  it('orders a SET OF by the elements encodings (X.690 §11.6)', () => {
    expect(hex(derSetOf(Buffer.from('0402bbbb', 'hex'), Buffer.from('0401aa', 'hex')))).toBe('31070401aa0402bbbb');
  });
});
