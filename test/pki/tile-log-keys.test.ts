import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { publicKeysEqual, publicKeyOf } from '../../lib/pki/keys';
import { readTileLogKeys, serverKeyPem, TILE_LOG_KEY_ITEMS } from '../../lib/pki/tile-log-keys';
import { StateSnapshot, StateStore } from '../../lib/state/store';
import { configFromYaml, fixedClock } from '../helpers/config';
import { useTempDirectory } from '../helpers/temp-directory';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

describe('the tile-based logs\' keys in the state', () => {
  const temp = useTempDirectory();
  const run = (yaml: string, root = join(temp(), '.sigstore')) =>
    bootstrap({
      config: configFromYaml(`organization: Test Org\nsigner: local\n${yaml}`, 'keys'),
      store: new StateStore({ root, env: 'keys' }),
      rootKeys: new LocalRootKeys(),
      clock: fixedClock(),
      operator: 'test',
    });
  // One state with both tile logs for the tests that only read it (minted once per file).
  let shared: string;
  let both: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    shared = mkdtempSync(join(tmpdir(), 'tile-log-keys-'));
    both = await run('logs: { rekor: v2, ct: tesseract }\n', join(shared, '.sigstore'));
  });
  afterAll(() => rmSync(shared, { recursive: true, force: true }));

  it('are minted only for the logs the configuration runs', async () => {
    expect((await run('')).minted).not.toEqual(expect.arrayContaining([expect.stringMatching(/rekor-v2|tesseract/)]));
    const { minted, snapshot } = await run('logs: { rekor: v2 }\n');
    expect(minted).toEqual(['rekor-v2-key']);
    expect(snapshot.item(TILE_LOG_KEY_ITEMS.tesseract.id)).toBeUndefined();
    // The state was not published yet (no TUF repository in a bare bootstrap): the next one adds TesseraCT's.
    expect((await run('logs: { rekor: v2, ct: tesseract }\n')).minted).toEqual(['tesseract-key']);
    expect((await run('logs: { rekor: v2, ct: tesseract }\n')).minted).toEqual([]);
  });

  it('are kept encrypted with their own password, Ed25519 for Rekor v2 and P-256 for TesseraCT, and given to the servers unencrypted', async () => {
    const { snapshot } = both;
    const keys = readTileLogKeys(snapshot);
    const state = join(shared, '.sigstore', 'keys');
    expect(readFileSync(join(state, 'rekor-v2/private.key.pem'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(readFileSync(join(state, 'tesseract/private.key.pem'), 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED/);
    expect(() => createPrivateKey(readFileSync(join(state, 'rekor-v2/private.key.pem'), 'utf8'))).toThrow();
    const rekor = createPrivateKey(serverKeyPem(keys.rekorV2!.privateKey, 'pkcs8'));
    expect(rekor.asymmetricKeyType).toBe('ed25519');
    expect(publicKeysEqual(publicKeyOf(rekor), keys.rekorV2!.publicKey)).toBe(true);
    expect(serverKeyPem(keys.tesseract!.privateKey, 'sec1')).toMatch(/^-----BEGIN EC PRIVATE KEY-----\nMHc/);
    expect(() => serverKeyPem(keys.rekorV2!.privateKey, 'sec1')).toThrow(/EC key/);
  });

  it('a key that is not its public key is corruption', async () => {
    const { snapshot } = both;
    const swapped = StateSnapshot.empty('swapped');
    const rekor = TILE_LOG_KEY_ITEMS.rekorV2;
    swapped.addItem(rekor.id, {
      mintedAt: new Date(),
      files: {
        publicKey: { path: rekor.files.publicKey, content: snapshot.file(TILE_LOG_KEY_ITEMS.tesseract.id, 'publicKey') },
        privateKey: { path: rekor.files.privateKey, content: snapshot.file(rekor.id, 'privateKey') },
        password: { path: rekor.files.password, content: snapshot.file(rekor.id, 'password') },
      },
    });
    expect(() => readTileLogKeys(swapped)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining('rekor-v2/private.key.pem is not the Ed25519 key') }));
  });
});
