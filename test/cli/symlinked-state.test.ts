import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../../lib/state/store';
import { REPO_ROOT, runCliProcess } from '../helpers/cli-process';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * A state directory that is a symbolic link (the state root `.sigstore` → a mounted volume, or one
 * environment `.sigstore/dev` → elsewhere) is written through: the keys land in the link's target,
 * the link stays a link, and later commits keep going there. The links point where nothing exists
 * yet (a fresh volume); the later commit then swaps a target that exists.
 */
const ENVS = join(REPO_ROOT, 'envs');

describe('a symlinked state directory, as processes', () => {
  const temp = useTempDirectory();

  it.each([
    ['the state root (.sigstore -> volume/sigstore), whose target does not exist yet', '.sigstore', 'sigstore', 'sigstore/dev'],
    ['one environment (.sigstore/dev -> volume/dev), whose target does not exist yet', '.sigstore/dev', 'dev', 'dev'],
  ])('%s: is written through, and stays a link', async (_, link, target, environmentInVolume) => {
    const volume = join(temp(), 'volume');
    mkdirSync(volume);
    if (link !== '.sigstore') mkdirSync(join(temp(), '.sigstore'), { mode: 0o700 });
    const linkPath = join(temp(), link);
    symlinkSync(join(volume, target), linkPath);

    const run = await runCliProcess(['synth', '--envs-dir', ENVS, '--out', 'dist', '--cloud-out', 'cdktf.out'], { cwd: temp() });
    expect(run.stderr.split('\n').filter((line) => line.startsWith('error'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(lstatSync(linkPath).isSymbolicLink()).toBe(true);
    const inVolume = join(volume, environmentInVolume);
    expect(readdirSync(inVolume)).toEqual(expect.arrayContaining(['manifest.json', 'fulcio', 'signer', 'ceremony.jsonl']));
    expect(readFileSync(join(temp(), 'dist', 'trust', 'fulcio-chain.pem'), 'utf8')).toContain(readFileSync(join(inVolume, 'fulcio', 'root.crt.pem'), 'utf8').trim());
    // Nothing of the state landed beside the link on local disk.
    expect(readdirSync(join(temp(), '.sigstore')).filter((name) => name !== 'dev' && name !== 'dev.lock')).toEqual([]);

    // A later commit goes through the link too.
    const store = new StateStore({ root: join(temp(), '.sigstore'), env: 'dev' });
    const snapshot = await store.load();
    snapshot.addItem('later', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'later.txt', content: 'later' } } });
    await store.commit(snapshot);
    expect(lstatSync(linkPath).isSymbolicLink()).toBe(true);
    expect(existsSync(join(inVolume, 'later.txt'))).toBe(true);

    const verify = await runCliCaptured(['verify', '--envs-dir', ENVS, '--state-dir', join(temp(), '.sigstore')]);
    expect(verify.code).toBe(0);
  });
});
