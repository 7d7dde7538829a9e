/** test/setup-after-env.ts compares Buffers with Buffer.equals: the same answers as jest's own equality. */
describe('toEqual on Buffers (test/setup-after-env.ts)', () => {
  it('equal bytes are equal, anywhere in a structure; one different byte or length is not', () => {
    const big = Buffer.alloc(1 << 20, 7);
    expect(Buffer.from(big)).toEqual(big);
    expect(new Map([['state/key.pem', { mode: 0o600, bytes: Buffer.from(big) }]])).toEqual(new Map([['state/key.pem', { mode: 0o600, bytes: big }]]));
    const changed = Buffer.from(big);
    changed[changed.length - 1] = 8;
    expect(changed).not.toEqual(big);
    expect(big.subarray(1)).not.toEqual(big);
    expect({ bytes: Buffer.from('a') }).not.toEqual({ bytes: Buffer.from('b') });
  });

  it('a Buffer is still not a plain Uint8Array or a string', () => {
    expect(Buffer.from('ab')).not.toEqual('ab');
    expect(Buffer.from('ab')).toStrictEqual(Buffer.from('ab'));
    expect(Buffer.from('ab')).not.toStrictEqual(new Uint8Array([97, 98]));
  });

  it('compares megabytes in one call (jest alone walks 2 MB byte by byte for some 8 s)', () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 7);
    const started = Date.now();
    expect(Buffer.from(bytes)).toEqual(Buffer.from(bytes));
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
