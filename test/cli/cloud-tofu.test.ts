import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../helpers/cli-process';
import { makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The cloud side from npm scripts, as processes: `npm run cloud:synth` writes the stack, and
 * `cloud:init|plan|apply` run OpenTofu in the stack directory. OpenTofu is a documented
 * prerequisite and is not installed here: a stand-in `tofu` on the PATH records how it was called
 * (arguments, working directory, the stack it found) and exits with the code it is told.
 */
const CLOUD_ENV = `organization: Test Org
otc:
  region: eu-de
  kms:
    fulcioRootKeyAlias: sigstore-fulcio-root-g1
    tsaRootKeyAlias: sigstore-tsa-root-g1
    tufRootKeyAlias: sigstore-tuf-root-g1
cloud:
  bootstrapBucket:
    name: test-sigstore-bootstrap
`;

/** A `tofu` that appends one JSON line per call to $TOFU_LOG, answers `version`, and exits with $TOFU_EXIT. */
function fakeTofu(directory: string): string {
  const bin = join(directory, 'fake-bin');
  mkdirSync(bin);
  const script = join(bin, 'tofu');
  writeFileSync(
    script,
    `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
const chdir = (args.find((arg) => arg.startsWith('-chdir=')) || '').slice('-chdir='.length);
const stack = chdir && fs.existsSync(chdir + '/cdk.tf.json') ? JSON.parse(fs.readFileSync(chdir + '/cdk.tf.json', 'utf8')) : null;
fs.appendFileSync(process.env.TOFU_LOG, JSON.stringify({ args, cwd: process.cwd(), backend: stack && stack.terraform && stack.terraform.backend }) + '\\n');
if (args.includes('version')) console.log('OpenTofu v1.10.0 (stand-in)');
process.exit(Number(process.env.TOFU_EXIT || 0));
`,
  );
  chmodSync(script, 0o755);
  return bin;
}

describe('npm run cloud:* (OpenTofu on cdktf.out/stacks/<stack>/cdk.tf.json)', () => {
  const temp = useTempDirectory();

  it('cloud:synth writes the stack; cloud:init/plan/apply run tofu -chdir=<stack> with the arguments after --', async () => {
    const project = makeTempProject(join(temp(), 'checkout'), { files: { 'envs/prd.yaml': CLOUD_ENV } });
    const bin = fakeTofu(temp());
    const log = join(temp(), 'tofu.log');
    const env = { PATH: `${bin}:${process.env.PATH}`, TOFU_LOG: log };
    const npm = (...args: string[]) => runProcess('npm', ['run', '--silent', ...args], { cwd: project, env, timeoutMs: 120_000 });

    const synth = await npm('cloud:synth', '--', '--env', 'prd');
    expect({ code: synth.code, stderr: synth.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('cdktf.out/stacks/sigstore-prd/cdk.tf.json') });
    expect(existsSync(join(project, 'cdktf.out', 'stacks', 'sigstore-prd', 'cdk.tf.json'))).toBe(true);
    expect(existsSync(join(project, 'dist'))).toBe(false); // the cloud stack needs no trust material

    expect((await npm('cloud:init', '--', '--env', 'prd')).code).toBe(0);
    expect((await npm('cloud:plan', '--', '--env', 'prd')).code).toBe(0);
    expect((await npm('cloud:apply', '--', '--env', 'prd', '--', '-target=opentelekomcloud_obs_bucket.sigstore_bootstrap')).code).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(calls.map((call) => call.args)).toEqual([
      ['-chdir=cdktf.out/stacks/sigstore-prd', 'init'],
      ['-chdir=cdktf.out/stacks/sigstore-prd', 'plan'],
      ['-chdir=cdktf.out/stacks/sigstore-prd', 'apply', '-target=opentelekomcloud_obs_bucket.sigstore_bootstrap'],
    ]);
    // The first apply needs no bucket: the state is local, in the project root (relative to the stack directory).
    expect(calls[0].backend).toEqual({ local: { path: '../../../terraform.sigstore-prd.tfstate' } });
  });

  it('tofu failing is exit 4 (CLOUD_TOFU_FAILED); no tofu on the PATH, or no stack, is exit 2 saying what to do', async () => {
    const project = makeTempProject(join(temp(), 'checkout'), { files: { 'envs/prd.yaml': CLOUD_ENV } });
    const bin = fakeTofu(temp());
    const cli = (args: string[], env: NodeJS.ProcessEnv) => runProcess(process.execPath, ['bin/sigstore-cdk.js', ...args], { cwd: project, env });

    const noStack = await cli(['cloud', 'plan', '--env', 'prd'], { PATH: `${bin}:${process.env.PATH}`, TOFU_LOG: join(temp(), 'log') });
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toContain('error [CLOUD_STACK_MISSING]');
    expect(noStack.stderr).toContain('npm run cloud:synth -- --env prd');

    expect((await cli(['cloud', 'synth', '--env', 'prd'], {})).code).toBe(0);
    const missing = await cli(['cloud', 'init', '--env', 'prd'], { PATH: '/usr/bin:/bin' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error [CLOUD_TOFU_MISSING]: tofu is not on the PATH: OpenTofu (1.6 or later) is the prerequisite');

    const failed = await cli(['cloud', 'apply', '--env', 'prd'], { PATH: `${bin}:${process.env.PATH}`, TOFU_LOG: join(temp(), 'log'), TOFU_EXIT: '1' });
    expect(failed.code).toBe(4);
    expect(failed.stderr).toContain('error [CLOUD_TOFU_FAILED]: tofu -chdir=cdktf.out/stacks/sigstore-prd apply exited with code 1');
  });
});
