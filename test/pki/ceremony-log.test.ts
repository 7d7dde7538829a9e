import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigstoreConfig } from '../../lib/config/schema';
import { ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { rootKeysFor, runBootstrap } from '../../lib/synth';
import { runVerify } from '../../lib/verify';
import { runCliCaptured } from '../helpers/cli';
import { LAUNCHER, childEnvironment } from '../helpers/cli-process';
import { configFromYaml } from '../helpers/config';
import { ceremonyLines, runCliProcess, writeEnvironment } from '../helpers/state-tampering';
import { useTempDirectory } from '../helpers/temp-directory';
import { connectTo, credentialEnvironment, instantRetries, kmsEnvironmentYaml, startEmulator, writeKmsEnvironment } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

/*
 * Issue 9, case 6 (the ceremony log is checked by verify) and case 10 (every use of a root key is in
 * the log, including a sign call whose answer never came).
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const GENESIS = '0'.repeat(64);

/** Checks the hash chain of the log's lines as an auditor would, with nothing but sha256. */
function expectChained(lines: readonly string[]): void {
  lines.forEach((line, index) => {
    const record = JSON.parse(line);
    expect(record.seq).toBe(index + 1);
    expect(record.prev).toBe(index === 0 ? GENESIS : sha256(lines[index - 1]));
  });
}

describe('verify checks the ceremony log', () => {
  const temp = useTempDirectory();
  let template: string;
  const ENV = 'log';

  beforeAll(async () => {
    template = mkdtempSync(join(tmpdir(), 'sigstore-cdk-ceremony-'));
    const envsDir = writeEnvironment(template, ENV);
    expect((await runCliCaptured(['synth', '--env', ENV, '--envs-dir', envsDir, '--state-dir', join(template, '.sigstore'), '--out', join(template, 'dist')])).code).toBe(0);
  });
  afterAll(() => rmSync(template, { recursive: true, force: true }));

  /** verify after `damage` to the log of a copy of the template: as a process, or in process. */
  const verifyAfter = async (damage: (logPath: string) => void, how: 'process' | 'in process' = 'in process') => {
    const project = join(temp(), 'project');
    cpSync(template, project, { recursive: true });
    damage(join(project, '.sigstore', ENV, 'ceremony.jsonl'));
    const args = ['verify', '--env', ENV, '--envs-dir', join(project, 'envs'), '--state-dir', join(project, '.sigstore')];
    return how === 'process' ? runCliProcess(args, { cwd: project }) : runCliCaptured(args);
  };

  it('a fresh state verifies, and its log is hash-chained from the genesis', async () => {
    const run = await verifyAfter(() => undefined);
    expect(run.stderr).toContain(`environment "${ENV}" verified`);
    expect(run.code).toBe(0);
    expectChained(ceremonyLines(join(template, '.sigstore', ENV)));
  });

  it('a log overwritten with "garbage": verify exits 3 and names the log', async () => {
    const run = await verifyAfter((path) => writeFileSync(path, 'garbage\n'), 'process');
    expect(run.stderr).toContain('error [STATE_CEREMONY_LOG_INVALID]');
    expect(run.stderr).toContain('ceremony.jsonl line 1');
    expect(run.code).toBe(3);
  });

  it('a log removed, or cut short: verify exits 3', async () => {
    const removed = await verifyAfter((path) => rmSync(path));
    expect(removed.stderr).toContain('error [STATE_CEREMONY_LOG_INVALID]');
    expect(removed.code).toBe(3);
    const truncated = await verifyAfter((path) => writeFileSync(path, readFileSync(path, 'utf8').split('\n').slice(0, 2).join('\n') + '\n'));
    expect(truncated.stderr).toContain('error [STATE_CEREMONY_LOG_INVALID]');
    expect(truncated.code).toBe(3);
  });
});

describe('root-key signatures through KMS are logged before the call and after it (through the emulator)', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let stateRoot: string;
  /** One attempt per call, each given two seconds: a delayed answer is a timeout. */
  let config: SigstoreConfig;

  beforeEach(async () => {
    emulator = await startEmulator({ tokenLifetimeMs: 3600_000 });
    config = configFromYaml(kmsEnvironmentYaml(emulator).replace('timeoutSeconds: 5', 'timeoutSeconds: 2').replace('maxRetries: 3', 'maxRetries: 0'), 'kms');
    await ensureRootKeys({ kms: connectTo(emulator).kms, roots: rootKeyPlan(config.otc!), env: 'kms' });
    stateRoot = join(temp(), '.sigstore');
  });
  afterEach(() => emulator.stop());

  const bootstrapNow = () => runBootstrap({ config, stateRoot, rootKeys: rootKeysFor(config, { environment: credentialEnvironment('access-key'), http: instantRetries().options }) });
  const records = () => ceremonyLines(join(stateRoot, 'kms')).map((line) => JSON.parse(line));

  it('a sign call that timed out is in the log: its intent, then the outcome OTC_TIMEOUT; a later run completes the chain', async () => {
    emulator.inject({ api: 'sign', delayMs: 2500, skip: 2 }); // the Fulcio root and intermediate are signed, the TSA root times out
    await expect(bootstrapNow()).rejects.toMatchObject({ code: 'OTC_TIMEOUT' });
    const log = records();
    expect(log.map((record) => [record.kind, record.purpose ?? record.outcome])).toEqual([
      ['sign-intent', 'fulcio-root certificate'],
      ['sign-result', 'signed'],
      ['sign-intent', 'fulcio-intermediate certificate'],
      ['sign-result', 'signed'],
      ['sign-intent', 'tsa-root certificate'],
      ['sign-result', 'failed'],
    ]);
    const lines = ceremonyLines(join(stateRoot, 'kms'));
    expect(log[4]).toMatchObject({ keyRef: expect.stringMatching(/^otc-kms:/), digestAlgorithm: 'SHA-384', digest: expect.stringMatching(/^[0-9a-f]{96}$/) });
    expect(log[5]).toMatchObject({ intent: sha256(lines[4]), outcome: 'failed', error: { code: 'OTC_TIMEOUT' } });
    expectChained(lines);

    await bootstrapNow(); // KMS answers again: the ceremony runs from the start and the log grows
    const after = ceremonyLines(join(stateRoot, 'kms'));
    expect(after.slice(0, lines.length)).toEqual(lines);
    expectChained(after);
    const result = await runVerify({ config, stateRoot, clock: () => new Date(), rootKeys: rootKeysFor(config, { environment: credentialEnvironment('access-key'), http: instantRetries().options }) } as Parameters<typeof runVerify>[0]);
    expect(result.ok).toBe(true);
  });

  it('a sign call KMS served but whose answer was lost (HTTP 500 after signing) is logged as failed with the status', async () => {
    emulator.inject({ api: 'sign', status: 500, afterServing: true });
    await expect(bootstrapNow()).rejects.toMatchObject({ code: 'OTC_UNAVAILABLE' });
    expect(records()).toEqual([
      expect.objectContaining({ kind: 'sign-intent', purpose: 'fulcio-root certificate' }),
      expect.objectContaining({ kind: 'sign-result', outcome: 'failed', error: expect.objectContaining({ code: 'OTC_UNAVAILABLE', httpStatus: 500 }) }),
    ]);
  });

  it('a bootstrap killed (SIGKILL) while KMS signs leaves the intent in the log; the next run keeps it and completes', async () => {
    emulator.inject({ api: 'sign', delayMs: 15_000, skip: 2 });
    const envsDir = writeKmsEnvironment(temp(), emulator, 'kms');
    const child = spawn(process.execPath, [LAUNCHER, 'bootstrap', '--env', 'kms', '--envs-dir', envsDir, '--state-dir', stateRoot], {
      cwd: temp(),
      env: childEnvironment(credentialEnvironment('access-key')),
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const logPath = join(stateRoot, 'kms', 'ceremony.jsonl');
    // A loaded machine may take a while to reach the third sign call: wait for it, up to a minute.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(logPath) && readFileSync(logPath, 'utf8').includes('tsa-root certificate'))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await exited;
    // The delayed answer was for the child alone: the next bootstrap must not meet it.
    emulator.clearFaults();
    const log = records();
    expect(log.at(-1)).toMatchObject({ kind: 'sign-intent', purpose: 'tsa-root certificate' });
    const lines = ceremonyLines(join(stateRoot, 'kms'));
    expectChained(lines);
    await bootstrapNow();
    expect(ceremonyLines(join(stateRoot, 'kms')).slice(0, lines.length)).toEqual(lines);
  }, 120_000);
});
