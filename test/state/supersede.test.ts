import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateSnapshot, StateStore } from '../../lib/state/store';
import { useTempDirectory } from '../helpers/temp-directory';

const at = new Date('2026-01-01T00:00:00Z');
const file = (path: string, content: string) => ({ path, content });

describe('StateSnapshot.supersedeItem', () => {
  const temp = useTempDirectory();

  async function stateWith(items: Record<string, Record<string, { path: string; content: string }>>): Promise<StateStore> {
    const store = new StateStore({ root: join(temp(), '.sigstore'), env: 'test' });
    const snapshot = StateSnapshot.empty('test');
    for (const [id, files] of Object.entries(items)) snapshot.addItem(id, { mintedAt: at, files });
    await store.commit(snapshot);
    return store;
  }

  it('replaces an item in place: new bytes and hash, same path, verified by the next load', async () => {
    const store = await stateWith({ stamp: { metadata: file('tuf/timestamp.json', 'v1') }, other: { data: file('other.txt', 'x') } });
    const snapshot = await store.load();
    snapshot.supersedeItem('stamp', { mintedAt: new Date('2026-01-02T00:00:00Z'), signedBy: 'local:k', files: { metadata: file('tuf/timestamp.json', 'v2') } });
    expect(snapshot.changed).toBe(true);
    expect(snapshot.supersededItems).toEqual(['stamp']);
    expect(snapshot.addedItems).toEqual([]);
    expect(await store.commit(snapshot)).toBe(true);

    const reloaded = await store.load();
    expect(reloaded.file('stamp', 'metadata').toString()).toBe('v2');
    expect(reloaded.item('stamp')).toEqual({ mintedAt: '2026-01-02T00:00:00.000Z', signedBy: 'local:k', files: { metadata: 'tuf/timestamp.json' } });
    expect(reloaded.file('other', 'data').toString()).toBe('x');
    expect(await store.commit(reloaded)).toBe(false);

    // The manifest hash covers the new bytes: an edit is caught.
    const path = join(store.directory, 'tuf', 'timestamp.json');
    chmodSync(path, 0o600);
    writeFileSync(path, 'v3');
    await expect(store.load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('tuf/timestamp.json does not match its SHA-256') });
  });

  it('drops files the new version no longer has, so the state holds no stray file', async () => {
    const store = await stateWith({ stamp: { metadata: file('a/old.json', 'old') } });
    const snapshot = await store.load();
    snapshot.supersedeItem('stamp', { mintedAt: at, files: { metadata: file('a/new.json', 'new') } });
    await store.commit(snapshot);
    const manifest = JSON.parse(readFileSync(join(store.directory, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.files)).toEqual(['a/new.json']);
    expect((await store.load()).file('stamp', 'metadata').toString()).toBe('new');
  });

  it('refuses unknown items and paths of other items, changing nothing', async () => {
    const store = await stateWith({ stamp: { metadata: file('t.json', 'v1') }, other: { data: file('other.txt', 'x') } });
    const snapshot = await store.load();
    expect(() => snapshot.supersedeItem('missing', { mintedAt: at, files: { metadata: file('t.json', 'v2') } })).toThrow('does not exist');
    expect(() => snapshot.supersedeItem('stamp', { mintedAt: at, files: { metadata: file('other.txt', 'v2') } })).toThrow('belongs to another item');
    expect(snapshot.changed).toBe(false);
    expect(snapshot.file('stamp', 'metadata').toString()).toBe('v1');
    expect(() => snapshot.addItem('stamp', { mintedAt: at, files: { metadata: file('u.json', 'v2') } })).toThrow('items are never replaced');
  });
});
