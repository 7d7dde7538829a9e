import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliProcess } from '../helpers/cli-process';
import { makeTempProject } from '../helpers/temp-project';
import { fileContents } from '../helpers/tree';

/** `state export` / `state import` as CLI processes: a backup restored on a fresh machine, checked by GnuPG and by `verify`. */
jest.setTimeout(180_000);

const PASSPHRASE = 'correct horse battery staple, test only';
let workspace: string;
let laptop: string;
let archive: string;
let archiveSha256: string;

/** `passphrase: null` runs without SIGSTORE_CDK_ARCHIVE_PASSPHRASE. */
const cli = (cwd: string, args: string[], passphrase: string | null = PASSPHRASE) =>
  runCliProcess(args, { cwd, env: passphrase === null ? {} : { SIGSTORE_CDK_ARCHIVE_PASSPHRASE: passphrase }, timeoutMs: 120_000 });


beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'state-archive-'));
  laptop = makeTempProject(join(workspace, 'laptop'));
  expect((await cli(laptop, ['synth', '--env', 'test'])).code).toBe(0);
  archive = join(workspace, 'backup.pgp');
  const exported = await cli(laptop, ['state', 'export', '--env', 'test', '--out', archive, '--json']);
  expect(exported.code).toBe(0);
  expect(exported.stdout + exported.stderr).not.toContain(PASSPHRASE);
  archiveSha256 = JSON.parse(exported.stdout).archiveSha256;
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

it('writes one private archive whose SHA-256 it prints, holding no state file in the clear', () => {
  const bytes = readFileSync(archive);
  expect(statSync(archive).mode & 0o777).toBe(0o600);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(archiveSha256);
  const state = join(laptop, '.sigstore', 'test');
  const password = readdirSync(join(state), { recursive: true }).map(String).find((name) => name.endsWith('.password'));
  expect(password).toBeDefined();
  for (const name of [password!, 'manifest.json']) {
    const content = readFileSync(join(state, name));
    expect(bytes.includes(content)).toBe(false);
    expect(bytes.includes(Buffer.from(content.toString('base64')))).toBe(false);
  }
});

it('is an OpenPGP message GnuPG decrypts with the passphrase (an independent implementation)', () => {
  const home = mkdtempSync(join(workspace, 'gnupg-'));
  const decrypted = spawnSync('gpg', ['--batch', '--quiet', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--decrypt', archive], {
    input: PASSPHRASE,
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(decrypted.status).toBe(0);
  const payload = JSON.parse(decrypted.stdout.toString('utf8'));
  expect(payload).toMatchObject({ format: 'sigstore-cdk/state-archive/v1', env: 'test', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(Object.keys(payload.files).sort()).toEqual(Object.keys(fileContents(join(laptop, '.sigstore', 'test'))).sort());
  const wrong = spawnSync('gpg', ['--batch', '--quiet', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--decrypt', archive], { input: 'not the passphrase at all' });
  expect(wrong.status).not.toBe(0);
});

it('imports onto a fresh machine byte for byte, and verify accepts the state', async () => {
  const fresh = makeTempProject(join(workspace, 'fresh'));
  const imported = await cli(fresh, ['state', 'import', archive, '--env', 'test', '--sha256', archiveSha256]);
  expect(imported.stderr).toContain('imported');
  expect(imported.code).toBe(0);
  expect(fileContents(join(fresh, '.sigstore', 'test'))).toEqual(fileContents(join(laptop, '.sigstore', 'test')));
  expect(statSync(join(fresh, '.sigstore', 'test')).mode & 0o777).toBe(0o700);
  const verified = await cli(fresh, ['verify', '--env', 'test', '--offline']);
  expect(verified.stderr).toContain('verified');
  expect(verified.code).toBe(0);
  // Again: the state is this archive already.
  const again = await cli(fresh, ['state', 'import', archive, '--env', 'test']);
  expect(again.code).toBe(0);
  expect(again.stderr).toContain('nothing written');
});

it.each([
  ['another passphrase', (file: string) => file, 'another passphrase of sixteen+', 'STATE_ARCHIVE_INVALID', 3],
  [
    'a damaged archive',
    (file: string) => {
      const bytes = readFileSync(file);
      bytes[bytes.length - 40] ^= 0xff;
      const damaged = join(workspace, 'damaged.pgp');
      writeFileSync(damaged, bytes);
      return damaged;
    },
    PASSPHRASE,
    'STATE_ARCHIVE_INVALID',
    3,
  ],
  ['no passphrase', (file: string) => file, null, 'SIGSTORE_CDK_ARCHIVE_PASSPHRASE is not set', 2],
])('refuses %s and writes nothing', async (_case, prepare, passphrase, expected, exitCode) => {
  const fresh = makeTempProject(mkdtempSync(join(workspace, 'refused-')));
  const run = await cli(fresh, ['state', 'import', prepare(archive), '--env', 'test'], passphrase);
  expect(run.stderr).toContain(expected);
  expect(run.code).toBe(exitCode);
  expect(() => readdirSync(join(fresh, '.sigstore', 'test'))).toThrow();
});

it('refuses an archive whose SHA-256 is not the one given, and an import over an existing, different state', async () => {
  const other = await cli(laptop, ['state', 'import', archive, '--env', 'test', '--sha256', '0'.repeat(64)]);
  expect(other.code).toBe(3);
  expect(other.stderr).toContain('STATE_ARCHIVE_INVALID');
  const elsewhere = makeTempProject(join(workspace, 'elsewhere'));
  expect((await cli(elsewhere, ['synth', '--env', 'test'])).code).toBe(0);
  const before = fileContents(join(elsewhere, '.sigstore', 'test'));
  const over = await cli(elsewhere, ['state', 'import', archive, '--env', 'test']);
  expect(over.code).toBe(3);
  expect(over.stderr).toContain('STATE_NOT_EMPTY');
  expect(fileContents(join(elsewhere, '.sigstore', 'test'))).toEqual(before);
});
