import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runStatePush, runStateStatus } from '../../lib/commands/state-remote';
import { loadConfig } from '../../lib/config/load';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { REPO_ROOT, runCliProcess } from '../helpers/cli-process';
import { startObsTestServer, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { makeTempProject } from '../helpers/temp-project';

/**
 * The README's "Weekly refresh" CI job, command by command (its launcher calls run as processes, prd →
 * the fixture's environment), against the loopback S3 server: the remote state is refreshed and pushed,
 * dist/ is written, verify accepts it. The job's commands run as processes; the operator's push
 * before it and the status read after it (setup and read-back) run in process.
 */
jest.setTimeout(240_000);

let server: ObsTestServer;
let workspace: string;
beforeAll(async () => {
  server = await startObsTestServer();
  workspace = mkdtempSync(join(tmpdir(), 'weekly-refresh-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

function readmeJob(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Weekly refresh'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)![1];
  return (parse(block) as Record<string, { script: string[] }>)['sigstore-tuf-refresh'].script;
}

it('pull, refresh, push, synth and verify, as the README job runs them', async () => {
  const script = readmeJob();
  expect(script[0]).toMatch(/^npm ci --omit=dev(\s|$)/);
  const env = { ...server.cliEnvironment() };
  const yaml = server.environmentYaml('  prefix: weekly\n');
  // An operator pushed the state once (the fixture's TUF roles are due by now). The processes read the
  // wall clock: the fixture state minted relative to now, so that verify never meets its certificates' expiry.
  const laptop = makeTempProject(join(workspace, 'laptop'), { testEnvYaml: yaml });
  await mintAgedFixtureState(laptop);
  const onLaptop = () => ({ config: loadConfig({ env: 'test', envsDir: join(laptop, 'envs') }), stateRoot: join(laptop, '.sigstore'), environment: env });
  expect(await runStatePush(onLaptop())).toMatchObject({ pushed: true, generation: 1 });

  const runner = makeTempProject(join(workspace, 'ci-runner'), { testEnvYaml: yaml });
  for (const line of script.slice(1)) {
    const words = line.split(/\s+/);
    expect(words.slice(0, 2)).toEqual(['node', 'bin/sigstore-cdk.js']);
    const args = words.slice(2).map((word) => (word === 'prd' ? 'test' : word));
    const run = await runCliProcess(args, { cwd: runner, env, timeoutMs: 120_000 });
    expect([line, run.code, run.stderr]).toEqual([line, 0, expect.any(String)]);
    expect(run.stdout + run.stderr).not.toContain(TEST_SECRET_KEY);
    if (args[0] === 'tuf') expect(run.stderr).toContain('timestamp v2 (new snapshot v2)');
    if (args[1] === 'push') expect(run.stderr).toContain('pushed generation 2');
  }
  expect(statSync(join(runner, 'dist', 'trust', 'tuf')).isDirectory()).toBe(true);
  expect(await runStateStatus(onLaptop())).toMatchObject({ status: 'remote-ahead', remoteGeneration: { generation: 2 } });
});
