/** What test/setup-after-env.ts changes about jest's equality: Buffers compare in one call, with the same answers. */
describe('Buffer equality in toEqual', () => {
  it('equal bytes are equal and any changed byte is a difference, inside a Map of state files too', () => {
    expect(Buffer.from('sigstore')).toEqual(Buffer.from('sigstore'));
    expect(Buffer.from('sigstore')).not.toEqual(Buffer.from('sigstorf'));
    expect(Buffer.from('sigstore')).not.toEqual(Buffer.from('sigstore!'));
    const tree = (last: number) => new Map([['fulcio/root.crt.pem', { mode: 0o600, bytes: Buffer.from([1, 2, last]) }]]);
    expect(tree(3)).toEqual(tree(3));
    expect(tree(3)).not.toEqual(tree(4));
    expect({ bytes: Buffer.from('a') }).not.toEqual({ bytes: 'a' });
  });

  it('compares 2 MB in one call (jest alone walks it byte by byte: 8 s)', () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 7);
    const started = Date.now();
    expect(Buffer.from(bytes)).toEqual(Buffer.from(bytes));
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
