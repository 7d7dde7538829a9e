import { generateKeyPairSync, sign } from 'node:crypto';
import { digestOf, ProcessMemo } from '../../lib/pki/process-memo';
import { verifiesOnce } from '../../lib/pki/verified-signatures';

describe('ProcessMemo', () => {
  it('computes a value once per key, and keeps only the newest entries up to its limit', () => {
    const memo = new ProcessMemo<number>(2);
    let computed = 0;
    const value = (key: string) => memo.get(key, () => ++computed);
    expect([value('a'), value('a'), value('b'), value('a')]).toEqual([1, 1, 2, 1]);
    expect(computed).toBe(2);
    value('c'); // a, the oldest, goes
    expect(value('a')).toBe(4);
    expect(value('c')).toBe(3);
  });

  it('keeps no failure: a computation that throws runs again next time', () => {
    const memo = new ProcessMemo<string>(4);
    let attempts = 0;
    const compute = () => {
      attempts += 1;
      if (attempts === 1) throw new Error('not yet');
      return 'ok';
    };
    expect(() => memo.get('k', compute)).toThrow('not yet');
    expect(memo.get('k', compute)).toBe('ok');
    expect(memo.get('k', compute)).toBe('ok');
    expect(attempts).toBe(2);
  });

  it('digestOf tells parts apart by their lengths (ab|c is not a|bc), bytes and text alike', () => {
    expect(digestOf('ab', 'c')).not.toBe(digestOf('a', 'bc'));
    expect(digestOf('ab', 'c')).toBe(digestOf(Buffer.from('ab'), 'c'));
    expect(digestOf('')).not.toBe(digestOf());
  });
});

describe('verifiesOnce', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const data = Buffer.from('the bytes a root signed');
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });

  it('answers as crypto.verify does, for the same and for changed bytes, key or signature, in any order', () => {
    expect(verifiesOnce('sha256', data, publicKey, signature)).toBe(true);
    expect(verifiesOnce('sha256', Buffer.from('the bytes a root signed!'), publicKey, signature)).toBe(false);
    expect(verifiesOnce('sha256', data, other, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 1] ^= 1;
    expect(verifiesOnce('sha256', data, publicKey, flipped)).toBe(false);
    expect(verifiesOnce('sha384', data, publicKey, signature)).toBe(false);
    expect(verifiesOnce('sha256', data, publicKey, signature)).toBe(true);
  });
});
