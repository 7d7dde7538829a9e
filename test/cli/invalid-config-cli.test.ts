import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER as CLI, childEnvironment } from '../helpers/cli-process';

/*
 * Issue 9, cases 7 and 8, as an operator meets them: a cold `sigstore-cdk synth` (or `bootstrap`) in a
 * fresh project directory with an invalid envs/dev.yaml exits 2 naming the field, and writes nothing:
 * no state directory, no dist/, no cdktf.out/. The runs are real processes, started together.
 */


interface Run {
  readonly code: number | null;
  readonly stderr: string;
  /** What the project directory holds afterwards. */
  readonly entries: string[];
}

/** Runs the CLI in a fresh project directory holding only `envs/dev.yaml`. */
async function coldRun(command: string, prepare: (envFile: string) => void): Promise<Run> {
  const project = mkdtempSync(join(tmpdir(), 'sigstore-cdk-invalid-'));
  try {
    mkdirSync(join(project, 'envs'));
    prepare(join(project, 'envs', 'dev.yaml'));
    const child = spawn(process.execPath, [CLI, command], { cwd: project, env: childEnvironment({ HOME: project }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    return { code, stderr, entries: readdirSync(project).sort() };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

const text = (yaml: string) => (file: string) => writeFileSync(file, yaml);

const ALIAS_BOMB = (() => {
  const lines = ['organization: Bomb Org', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    previous = name;
  }
  return `${lines.join('\n')}\n`;
})();

const CASES: Record<string, { command: string; prepare: (file: string) => void; code: string; names: RegExp }> = {
  'synth, a ci-provider issuer naming no provider': {
    command: 'synth',
    prepare: text('organization: CLI Org\noidc:\n  issuers: [{ url: https://ci.example.com, type: ci-provider, ciProvider: jenkins }]\n'),
    code: 'CONFIG_INVALID',
    names: /oidc\.issuers\[0\]\.ciProvider \(line 3\): expected a CI provider that exists.*\(got "jenkins"\)/,
  },
  'synth, duplicate trustRootNamespaces': {
    command: 'synth',
    prepare: text('organization: CLI Org\ncluster:\n  trustRootNamespaces: [forge, forge]\n'),
    code: 'CONFIG_INVALID',
    names: /cluster\.trustRootNamespaces\[1\] \(line 3\): expected each namespace once.*\(got "forge"\)/,
  },
  'synth, a bad database.host': {
    command: 'synth',
    prepare: text('organization: CLI Org\ndatabase:\n  kind: external\n  host: "db host"\n  credentialsSecret: trillian-db\n'),
    code: 'CONFIG_INVALID',
    names: /database\.host \(line 4\): expected a host name.*\(got "db host"\)/,
  },
  'bootstrap, a bad database.host': {
    command: 'bootstrap',
    prepare: text('organization: CLI Org\ndatabase:\n  kind: external\n  host: "db;reboot"\n  credentialsSecret: trillian-db\n'),
    code: 'CONFIG_INVALID',
    names: /database\.host \(line 4\)/,
  },
  'synth, an unknown YAML tag': {
    command: 'synth',
    prepare: text('organization: !env HOME\n'),
    code: 'CONFIG_UNREADABLE',
    names: /organization \(line 1\): unknown YAML tag "!env"/,
  },
  'synth, an alias bomb': {
    command: 'synth',
    prepare: text(ALIAS_BOMB),
    code: 'CONFIG_UNREADABLE',
    names: /line 3: .*aliases/,
  },
  'synth, a 50 MB file': {
    command: 'synth',
    prepare: (file) => {
      closeSync(openSync(file, 'w'));
      truncateSync(file, 50 * 1024 * 1024);
    },
    code: 'CONFIG_TOO_LARGE',
    names: /envs\/dev\.yaml has 52428800 bytes; expected at most 1048576/,
  },
};

describe('an invalid environment file: exit 2, the field named, nothing written', () => {
  let runs: Record<string, Run>;
  beforeAll(async () => {
    const entries = await Promise.all(Object.entries(CASES).map(async ([name, { command, prepare }]) => [name, await coldRun(command, prepare)] as const));
    runs = Object.fromEntries(entries);
  }, 60_000);

  it.each(Object.keys(CASES))('%s', (name) => {
    const run = runs[name];
    const expected = CASES[name];
    expect(run.stderr).toContain(`error [${expected.code}]`);
    expect(run.stderr).toMatch(expected.names);
    expect(run.stderr).not.toContain('unexpected error');
    expect(run.stderr).not.toMatch(/✓ mint|sign TUF/);
    expect(run.code).toBe(2);
    // No state directory, no dist/, no cdktf.out/: the project holds what it held before.
    expect(run.entries).toEqual(['envs']);
  });
});
