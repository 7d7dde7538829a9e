import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { childEnvironment, fakedClockEnvironment } from './helpers/cli-process';

const ROOT = join(__dirname, '..');

/** Every TypeScript file under `directory` (test/ by default, fixtures included), as paths relative to the repository. */
function sources(directory = __dirname): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

/** A source file's text without its comment lines (`//` or ` * `), where a rule's words may be named. */
function code(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '');
}

describe('what the tests leave behind', () => {
  // cdk8s's and cdktf's Testing.app() without an outdir make a temporary directory that nothing
  // removes: about 700 per run, before the tests gave them IN_MEMORY_OUTDIR or CDKTF_IN_MEMORY_OUTDIR.
  it('no test makes a cdk8s or cdktf testing app without an outdir', () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(100);
    const offending = files.filter((file) => /Testing\.(app|chart)\(\s*\)/.test(code(file)));
    expect(offending).toEqual([]);
  });
});

describe('what the tests hand the processes they start', () => {
  // A child that inherits the test's environment runs differently on a developer's machine (their
  // SIGSTORE_*, OS_* or GIT_* variables; npm's npm_config_* under `npm test`) and slower where
  // NODE_EXTRA_CA_CERTS is set (node reads the bundle at every start): test/helpers/cli-process.ts
  // childEnvironment gives PATH, HOME and the faked clock, and what the test adds.
  it('no test spreads its own process.env into a child\'s environment', () => {
    const offending = sources().filter((file) => /\.\.\.process\.env\b/.test(code(file)));
    expect(offending).toEqual([]);
  });

  it('childEnvironment (what the helpers start children with) is PATH, HOME, the faked clock and what the test adds: nothing else of the test\'s', () => {
    const leaked = { SIGSTORE_ENV: 'leaked', OS_ACCESS_KEY: 'leaked', GIT_DIR: '/leaked', NODE_EXTRA_CA_CERTS: '/leaked.pem' };
    const saved = Object.fromEntries(Object.keys(leaked).map((name) => [name, process.env[name]]));
    Object.assign(process.env, leaked);
    try {
      const expected = ['HOME', 'PATH', 'SIGSTORE_CDK_X', ...Object.keys(fakedClockEnvironment())].sort();
      expect(Object.keys(childEnvironment({ SIGSTORE_CDK_X: '1' })).sort()).toEqual(expected);
      // What a child sees (node adds nothing of its own).
      const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(Object.keys(process.env).sort()))'], { cwd: tmpdir(), env: childEnvironment({ SIGSTORE_CDK_X: '1' }), encoding: 'utf8' });
      expect(child.status).toBe(0);
      expect(JSON.parse(child.stdout)).toEqual(expected);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('how lib/ and the test helpers read keys', () => {
  // Node 20.20's JWK export and asymmetricKeyDetails hold a key's lock while allocating; a GC there that
  // finalizes generateKeyPairSync's job deadlocks the process (lib/pki/keys.ts). The key readers of
  // lib/pki/keys.ts take the same facts from the DER (test/pki/key-reading.test.ts checks their answers).
  it('never export a key as JWK nor read asymmetricKeyDetails (lib/, test/helpers, the stand-ins of test/otc)', () => {
    const files = ['lib', join('test', 'helpers'), join('test', 'otc')].flatMap((directory) => sources(join(ROOT, directory)));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((file) => /format:\s*['"]jwk['"]|\.asymmetricKeyDetails\b/.test(code(file)))).toEqual([]);
  });
});
