import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { normalizeEcdsaSignature } from '../../lib/pki/ecdsa-signature';
import { opensslOk } from '../helpers/openssl';

describe('normalizeEcdsaSignature', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const data = Buffer.from('tbs certificate bytes');

  it('keeps a DER signature byte for byte', () => {
    const der = sign('sha384', data, { key: p384.privateKey, dsaEncoding: 'der' });
    expect(normalizeEcdsaSignature(der, 'P-384', 'k')).toEqual(der);
  });

  it('turns raw r‖s into DER that node and openssl accept', () => {
    for (let round = 0; round < 20; round++) {
      const raw = sign('sha384', data, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' });
      expect(raw).toHaveLength(96);
      const der = normalizeEcdsaSignature(raw, 'P-384', 'k');
      expect(der[0]).toBe(0x30);
      expect(verify('sha384', data, { key: p384.publicKey, dsaEncoding: 'der' }, der)).toBe(true);
      // Same (r, s) as node's own DER encoding of the raw signature.
      expect(verify('sha384', data, { key: p384.publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
    const der = normalizeEcdsaSignature(sign('sha384', data, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' }), 'P-384', 'k');
    expect(opensslOk(['asn1parse', '-inform', 'DER'], { input: der })).toMatch(/SEQUENCE[\s\S]*INTEGER[\s\S]*INTEGER/);
  });

  it('encodes r and s minimally: leading zeros dropped, a zero byte before a high bit', () => {
    const r = Buffer.alloc(48, 0);
    r[47] = 0x01; // r = 1
    const s = Buffer.alloc(48, 0xff); // high bit set
    const der = normalizeEcdsaSignature(Buffer.concat([r, s]), 'P-384', 'k');
    expect(der.subarray(0, 5).toString('hex')).toBe('3036020101');
    expect(der.subarray(5, 8).toString('hex')).toBe('023100');
  });

  it('refuses anything else, naming the sizes it accepts', () => {
    expect(() => normalizeEcdsaSignature(Buffer.alloc(64, 1), 'P-384', 'otc-kms:k')).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_INVALID', message: expect.stringContaining('raw P-384 r‖s signature (96 bytes)') }),
    );
    const der = sign('sha384', data, { key: p384.privateKey, dsaEncoding: 'der' });
    // Trailing garbage after the DER sequence is not DER, and the length is not 96.
    expect(() => normalizeEcdsaSignature(Buffer.concat([der, Buffer.from([0])]), 'P-384', 'k')).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
  });
});
