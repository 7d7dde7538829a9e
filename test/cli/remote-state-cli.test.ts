import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStatePull, runStatePush } from '../../lib/commands/state-remote';
import { loadConfig } from '../../lib/config/load';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { LAUNCHER, childEnvironment, runCliProcess } from '../helpers/cli-process';
import { startObsTestServer, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { makeTempProject } from '../helpers/temp-project';
import { fileContents } from '../helpers/tree';

/**
 * `sigstore-cdk state pull|push|status` as an operator runs them: CLI processes on two "machines"
 * (two project directories) against one real S3 server on loopback (s3rver through the real S3 client).
 * What only sets a machine up, or reads the result back, runs in-process (the same commands'
 * functions, on the machine's own envs/ and .sigstore/); what is about processes runs as processes.
 */
jest.setTimeout(180_000);

let server: ObsTestServer;
let workspace: string;

beforeAll(async () => {
  server = await startObsTestServer();
});
afterAll(async () => server.stop());
beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'remote-cli-'));
  server.onRequest = undefined;
  server.requests.length = 0;
});
afterEach(() => rmSync(workspace, { recursive: true, force: true }));

/** A project directory ("machine") whose environment `test` keeps its state in the test server, under its own prefix. */
function machine(name: string, prefix: string, fixtureState = false): string {
  return makeTempProject(join(workspace, name), { fixtureState, testEnvYaml: server.environmentYaml(`  prefix: ${prefix}\n`) });
}

function cli(cwd: string, ...args: string[]) {
  return runCliProcess(args, { cwd, env: { ...server.cliEnvironment(), SIGSTORE_CDK_LOCK_WAIT: '40' }, timeoutMs: 120_000 });
}

/** The same steps in-process, on a machine's own envs/test.yaml and state (setup and read-back, not the behaviour under test). */
function inProcess(cwd: string) {
  const options = () => ({ config: loadConfig({ env: 'test', envsDir: join(cwd, 'envs') }), stateRoot: join(cwd, '.sigstore'), environment: server.cliEnvironment() });
  return {
    push: () => runStatePush(options()),
    pull: () => runStatePull(options()),
    tufRefresh: () => runTufRefresh(options()),
  };
}

it('a state minted on one machine, pushed, is restored on an empty machine byte for byte, and verify accepts it', async () => {
  const laptop = machine('laptop', 'restore');
  const minted = await cli(laptop, 'synth', '--env', 'test');
  expect(minted.stderr).toContain('minted');
  expect(minted.code).toBe(0);
  const pushed = await cli(laptop, 'state', 'push', '--env', 'test', '--json');
  expect(pushed.code).toBe(0);
  expect(JSON.parse(pushed.stdout)).toMatchObject({ pushed: true, generation: 1 });

  const fresh = machine('fresh', 'restore');
  const before = await cli(fresh, 'state', 'status', '--env', 'test', '--json');
  expect(JSON.parse(before.stdout)).toMatchObject({ status: 'remote-only', remoteGeneration: { generation: 1 } });
  // Minting on the empty machine would make a second CA: refused, nothing written.
  const mint = await cli(fresh, 'bootstrap', '--env', 'test');
  expect(mint.code).toBe(3);
  expect(mint.stderr).toContain('STATE_REMOTE_DIVERGED');
  expect(() => readdirSync(join(fresh, '.sigstore', 'test'))).toThrow();

  const pulled = await cli(fresh, 'state', 'pull', '--env', 'test');
  expect(pulled.code).toBe(0);
  expect(pulled.stderr).toContain('pulled generation 1');
  expect(fileContents(join(fresh, '.sigstore', 'test'))).toEqual(fileContents(join(laptop, '.sigstore', 'test')));
  const verified = await cli(fresh, 'verify', '--env', 'test', '--offline');
  expect(verified.stderr).toContain('verified');
  expect(verified.code).toBe(0);
  const status = await cli(fresh, 'state', 'status', '--env', 'test');
  expect(status.stderr).toContain('status: in-sync');
  for (const run of [minted, pushed, before, mint, pulled, verified, status]) {
    expect(run.stdout + run.stderr).not.toContain(TEST_SECRET_KEY);
  }
});

it('two machines push at once from the same generation: one wins, the other is refused and the remote keeps the winner', async () => {
  const first = machine('first', 'race', true);
  expect(await inProcess(first).push()).toMatchObject({ pushed: true, generation: 1 });
  const second = machine('second', 'race');
  expect(await inProcess(second).pull()).toMatchObject({ generation: 1 });
  // The fixture state's TUF roles are due by now: each machine re-signs them (different signatures).
  for (const directory of [first, second]) expect((await inProcess(directory).tufRefresh()).published.length).toBeGreaterThan(0);

  const [a, b] = await Promise.all([cli(first, 'state', 'push', '--env', 'test'), cli(second, 'state', 'push', '--env', 'test')]);
  const codes = [a.code, b.code].sort();
  expect(codes).toEqual([0, 3]);
  const [winner, loser] = a.code === 0 ? [first, b] : [second, a];
  expect(loser.stderr).toContain('STATE_REMOTE_CHANGED');
  expect(loser.stderr).toContain('generation 2');

  const check = machine('check', 'race');
  expect(await inProcess(check).pull()).toMatchObject({ generation: 2 });
  expect(fileContents(join(check, '.sigstore', 'test'))).toEqual(fileContents(join(winner, '.sigstore', 'test')));
});

it('a push killed (SIGKILL) midway leaves the remote readable at the previous generation; the next push takes over the dead lock', async () => {
  const laptop = machine('laptop', 'kill', true);
  expect(await inProcess(laptop).push()).toMatchObject({ pushed: true, generation: 1 });
  const generationOne = fileContents(join(laptop, '.sigstore', 'test'));
  expect((await inProcess(laptop).tufRefresh()).published.length).toBeGreaterThan(0);

  // Hold the second object upload of the next push forever, then kill the pushing process.
  let objectPuts = 0;
  let reached!: () => void;
  const midway = new Promise<void>((resolve) => (reached = resolve));
  server.onRequest = (request) => {
    if (request.method === 'PUT' && request.path.includes('/kill/test/objects/') && ++objectPuts === 2) {
      reached();
      return new Promise<void>(() => {});
    }
  };
  const child = spawn(process.execPath, [LAUNCHER, 'state', 'push', '--env', 'test'], {
    cwd: laptop,
    env: childEnvironment(server.cliEnvironment()),
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  await midway;
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  server.onRequest = undefined;

  const reader = machine('reader', 'kill');
  const pulled = await cli(reader, 'state', 'pull', '--env', 'test', '--json');
  expect(pulled.code).toBe(0);
  expect(JSON.parse(pulled.stdout)).toMatchObject({ generation: 1 });
  expect(fileContents(join(reader, '.sigstore', 'test'))).toEqual(generationOne);

  // The killed push left its lock claim; it is stale after lockTtlSeconds (10 s) and is taken over.
  // Rather than wait those 10 s, the server's clock says its claim is a minute old (LastModified).
  expect(server.age('kill/test/lock/', 60)).toHaveLength(1);
  const again = await cli(laptop, 'state', 'push', '--env', 'test');
  expect(again.code).toBe(0);
  expect(again.stderr).toContain(`took over the stale remote state lock of`);
  expect(again.stderr).toContain(`pid ${child.pid}, state push`);
  expect(again.stderr).toContain('pushed generation 2');
  expect(again.stderr).toMatch(/not refreshed for (5[5-9]|6\d) s/);
});
