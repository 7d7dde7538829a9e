import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_DEFAULT_YAML } from '../../lib/config/embedded-default';
import { loadConfig } from '../../lib/config/load';
import { runCliProcess, runProcess, REPO_ROOT } from '../helpers/cli-process';
import { makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The CLI as an operator meets it after `npm ci`: a version, help that is not an error, JSON on
 * stdout that a script can parse, and the embedded default without any file. (That npx finds the bin:
 * the README walk runs `npx --no-install sigstore-cdk`.)
 */
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('CLI conventions (as processes)', () => {
  const temp = useTempDirectory();

  it.each([['--version'], ['-V']])('%s prints the package version on stdout and exits 0', async (flag) => {
    const run = await runCliProcess([flag], { cwd: temp() });
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it.each([[['help']], [['help', 'synth']], [['keys', 'ensure', '--help']]])('%j prints help on stdout and exits 0', async (args) => {
    const run = await runCliProcess(args, { cwd: temp() });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sigstore-cdk/);
  });

  it('help shown because something is wrong is a usage error: no command, an unknown option (exit 2, help on stderr)', async () => {
    const none = await runCliProcess([], { cwd: temp() });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: sigstore-cdk/);
    const unknown = await runCliProcess(['synth', '--no-such-option'], { cwd: temp() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
  });

  it('after npm ci: `npm run --silent synth -- --json` prints only JSON on stdout, and dev works with envs/dev.yaml deleted', async () => {
    const project = makeTempProject(join(temp(), 'checkout'));
    rmSync(join(project, 'envs', 'dev.yaml'));

    const viaNpm = await runProcess('npm', ['run', '--silent', 'synth', '--', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect({ code: viaNpm.code, stderr: viaNpm.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('sigstore-cdk synth --env dev') });
    const result = JSON.parse(viaNpm.stdout); // the whole of stdout: no npm banner, no progress
    expect(result.minted.length).toBeGreaterThan(0);
    expect(existsSync(join(project, 'dist', 'trust', 'trusted_root.json'))).toBe(true);
    // `npx --no-install sigstore-cdk` (npx finds the bin, and adds nothing to stdout): the README walk
    // runs it, as "The CLI" documents it (test/readme/readme-commands.test.ts), at 1.2-2 s of npm's work.

    // Without --silent npm prints its own banner on stdout: the reason the README says --silent.
    const loud = await runProcess('npm', ['run', 'synth', '--', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect(loud.code).toBe(0);
    expect(loud.stdout).toMatch(/^\s*> sigstore-cdk@/);
  });

  it('an environment without a file says how to start one from the documented example (exit 2)', async () => {
    const project = makeTempProject(join(temp(), 'checkout'), { files: { 'envs/prd.example.yaml': readFileSync(join(REPO_ROOT, 'envs', 'prd.example.yaml'), 'utf8') } });
    const run = await runCliProcess(['synth', '--env', 'prd'], { cwd: project });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error [CONFIG_NOT_FOUND]: environment "prd" has no file envs/prd.yaml');
    expect(run.stderr).toContain('cp envs/prd.example.yaml envs/prd.yaml, then edit it');
    expect(existsSync(join(project, 'dist'))).toBe(false);
  });
});

describe('the embedded default environment', () => {
  it('is in the code, and envs/dev.yaml documents exactly it (the same bytes)', () => {
    expect(readFileSync(join(REPO_ROOT, 'envs', 'dev.yaml'), 'utf8')).toBe(EMBEDDED_DEFAULT_YAML);
  });

  it('loads without any environment file, and equals what envs/dev.yaml loads to', () => {
    const embedded = loadConfig({ env: 'dev', envsDir: join(REPO_ROOT, 'no-such-directory') });
    expect(embedded).toEqual(loadConfig({ env: 'dev', envsDir: join(REPO_ROOT, 'envs') }));
    expect(embedded).toMatchObject({ env: 'dev', signer: 'local', organization: 'sigstore-cdk dev' });
  });

  it('an edited envs/dev.yaml wins over the embedded default', () => {
    const directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-envs-'));
    try {
      writeFileSync(join(directory, 'dev.yaml'), EMBEDDED_DEFAULT_YAML.replace('organization: sigstore-cdk dev', 'organization: Edited Org'));
      expect(loadConfig({ env: 'dev', envsDir: directory }).organization).toBe('Edited Org');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
