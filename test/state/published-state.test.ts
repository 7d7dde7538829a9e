import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap } from '../../lib/pki/bootstrap';
import { ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { LocalRootKeys, type RootKeyProvider } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { rootKeysFor, runBootstrap } from '../../lib/synth';
import { runCliCaptured } from '../helpers/cli';
import { configFromYaml, fixedClock } from '../helpers/config';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';
import { dropItems, itemIds, readManifest, runCliProcess, writeEnvironment } from '../helpers/state-tampering';
import { credentialEnvironment, instantRetries, kmsConfig, useKmsEmulator } from '../otc/kms-fixture';

/*
 * Issue 9, case 5: once trust material has been published, a missing item is corruption, never
 * something to mint again. A root is re-minted only by an explicit command (rotation), never as a
 * side effect of synth or bootstrap. Exit codes and "nothing touched" are checked on the real CLI.
 */
const ENV = 'pub';

describe('a published state that lost items is refused, not completed', () => {
  const temp = useTempDirectory();
  /** A complete, published local-signer state and its dist/, minted once for the whole file. */
  let template: string;

  beforeAll(async () => {
    template = mkdtempSync(join(tmpdir(), 'sigstore-cdk-published-'));
    const envsDir = writeEnvironment(template, ENV);
    const run = await runCliCaptured(['synth', '--env', ENV, '--envs-dir', envsDir, '--state-dir', join(template, '.sigstore'), '--out', join(template, 'dist')]);
    expect(run.code).toBe(0);
  });
  afterAll(() => rmSync(template, { recursive: true, force: true }));

  /** A private copy of the template, in `<temp>/<name>`: its state directory and the paths the CLI needs. */
  const copy = (name: string) => {
    const directory = join(temp(), name);
    cpSync(template, directory, { recursive: true });
    return { directory, stateRoot: join(directory, '.sigstore'), stateDir: join(directory, '.sigstore', ENV), out: join(directory, 'dist') };
  };
  const args = (project: ReturnType<typeof copy>, command: 'synth' | 'bootstrap') => [
    command,
    '--env',
    ENV,
    '--envs-dir',
    join(project.directory, 'envs'),
    '--state-dir',
    project.stateRoot,
    ...(command === 'synth' ? ['--out', project.out] : []),
  ];

  /**
   * Runs synth and bootstrap, each on its own copy, after `damage`; both must refuse and touch
   * nothing. synth runs as a process when `asProcess` (exit code and stderr as a script sees them),
   * bootstrap always in process (the same code path as synth's).
   */
  const expectRefused = async (damage: (stateDir: string) => void, named: readonly string[], asProcess = false) => {
    const projects = [copy('synth'), copy('bootstrap')];
    for (const project of projects) damage(project.stateDir);
    const before = projects.map((project) => treeContents(project.directory));
    const runs = [
      asProcess ? await runCliProcess(args(projects[0], 'synth'), { cwd: projects[0].directory }) : await runCliCaptured(args(projects[0], 'synth')),
      await runCliCaptured(args(projects[1], 'bootstrap')),
    ];
    for (const run of runs) {
      expect(run.stderr).toContain('error [STATE_PUBLISHED_ITEMS_MISSING]');
      expect(run.code).toBe(3);
      for (const name of named) expect(run.stderr).toContain(name);
      expect(run.stderr).toMatch(/restore .*backup/i);
      expect(run.stderr).not.toContain('✓ mint');
      expect(run.stderr).not.toMatch(/\n\s+at /); // one clear message, no stack trace
    }
    projects.forEach((project, index) => expect(treeContents(project.directory)).toEqual(before[index]));
    return runs[0];
  };

  it('Fulcio root and intermediate removed: synth and bootstrap exit 3, name them and the backup, and mint no new root', async () => {
    const run = await expectRefused((stateDir) => dropItems(stateDir, ['fulcio-root', 'fulcio-intermediate']), ['fulcio-root', 'fulcio-intermediate'], true);
    expect(run.stderr).toContain(`.sigstore/${ENV}`);
  });

  it('the CT log key removed: exit 3, names ctlog-key, and the previous state an interrupted run left as a backup', async () => {
    const run = await expectRefused(
      (stateDir) => {
        cpSync(stateDir, join(stateDir, '..', `.${ENV}.previous-4242-cafe`), { recursive: true });
        dropItems(stateDir, ['ctlog-key']);
      },
      ['ctlog-key'],
    );
    expect(run.stderr).toContain(`.${ENV}.previous-4242-cafe`);
  });

  it('the whole TUF repository removed: exit 3 (a new root v1 would strand every client)', async () => {
    await expectRefused(
      (stateDir) => dropItems(stateDir, [...itemIds(stateDir, 'tuf-')]),
      ['TUF repository'],
    );
  });

  it('the service passwords removed: exit 3 (MySQL keeps the passwords it was initialized with)', async () => {
    await expectRefused((stateDir) => dropItems(stateDir, ['service-passwords']), ['service-passwords']);
  });
});

describe('a bootstrap that never completed is completed (nothing was published)', () => {
  const temp = useTempDirectory();
  const config = configFromYaml('organization: Custody Org\nsigner: local\n', ENV);

  it('a first run that failed half-way left only its ceremony log: the next synth mints the whole state, exit 0', async () => {
    const stateRoot = join(temp(), '.sigstore');
    const failingTsa: RootKeyProvider = {
      description: 'flaky signer',
      signerFor: async (root, snapshot, now) => {
        if (root === 'tsa') throw new Error('signer unavailable');
        return new LocalRootKeys().signerFor(root, snapshot, now);
      },
    };
    await expect(bootstrap({ config, store: new StateStore({ root: stateRoot, env: ENV }), rootKeys: failingTsa, clock: fixedClock() })).rejects.toThrow('signer unavailable');
    expect(readdirSync(join(stateRoot, ENV))).toEqual(['ceremony.jsonl']);
    const envsDir = writeEnvironment(temp(), ENV);
    const run = await runCliCaptured(['synth', '--env', ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--out', join(temp(), 'dist')]);
    expect(run.stderr).toContain('✓ mint fulcio-root');
    expect(run.code).toBe(0);
  });

  it('a state with the PKI but no TUF repository and no published marker is completed; the marker is written with it', async () => {
    const stateRoot = join(temp(), '.sigstore');
    await bootstrap({ config, store: new StateStore({ root: stateRoot, env: ENV }), rootKeys: new LocalRootKeys(), clock: fixedClock() });
    expect(readManifest(join(stateRoot, ENV)).publishedAt).toBeUndefined();
    const envsDir = writeEnvironment(temp(), ENV);
    const run = await runCliCaptured(['synth', '--env', ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--out', join(temp(), 'dist')]);
    expect(run.code).toBe(0);
    expect(itemIds(join(stateRoot, ENV), 'tuf-root-v')).toEqual(['tuf-root-v1']);
    expect(readManifest(join(stateRoot, ENV)).publishedAt).toEqual(expect.any(String));
  });
});

describe('with the OTC KMS signer (through the emulator)', () => {
  const temp = useTempDirectory();
  const kmsTest = useKmsEmulator({ tokenLifetimeMs: 3600_000 });

  it('bootstrap refuses to mint a new KMS-signed Fulcio root into a published state, and signs nothing', async () => {
    const config = kmsConfig(kmsTest.emulator, 'kms');
    await ensureRootKeys({ kms: kmsTest.kms, roots: rootKeyPlan(config.otc!), env: 'kms' });
    const stateRoot = join(temp(), '.sigstore');
    const run = () => runBootstrap({ config, stateRoot, rootKeys: rootKeysFor(config, { environment: credentialEnvironment('access-key'), http: instantRetries().options }) });
    await run();
    dropItems(join(stateRoot, 'kms'), ['fulcio-root', 'fulcio-intermediate']);
    const before = treeContents(stateRoot);
    kmsTest.emulator.calls.length = 0;
    await expect(run()).rejects.toMatchObject({ code: 'STATE_PUBLISHED_ITEMS_MISSING', exitCode: 3, message: expect.stringContaining('fulcio-root') });
    expect(kmsTest.emulator.calls.filter((call) => call.api === 'sign')).toEqual([]);
    expect(treeContents(stateRoot)).toEqual(before);
  });
});
