import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../../lib/k8s/cluster-manifests';
import { snapshotTree } from '../helpers/snapshot';
import { gitWouldStage, makeTempProject, runCliProcess, runProcess } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/** The real `npx cdk8s synth` of the project (cdk8s.yaml), without its network upgrade check. */
function npxCdk8s(project: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return runProcess('npx', ['--no', 'cdk8s', 'synth', ...args], {
    cwd: project,
    env: { SIGSTORE_ENV: 'test', CDK8S_CHECK_UPGRADE: 'false', npm_config_update_notifier: 'false', ...env },
  });
}

/** Every object of a multi-document YAML stream; fails on a document that does not parse. */
function objects(text: string): { kind: string; metadata: { name: string } }[] {
  return parseAllDocuments(text).map((document, index) => {
    expect({ index, errors: document.errors.map((error) => error.message) }).toEqual({ index, errors: [] });
    return document.toJS();
  });
}

describe('npx cdk8s synth (the cdk8s CLI running bin/k8s.js, as a process)', () => {
  const temp = useTempDirectory();

  it('writes the same dist/ as sigstore-cdk synth; --stdout prints it and a failure leaves it as it was', async () => {
    const project = makeTempProject(join(temp(), 'project'), { fixtureState: true, git: true });
    const synth = await runCliProcess(project, ['synth', '--env', 'test']);
    expect(synth.code).toBe(0);
    const written = snapshotTree(join(project, 'dist'));

    const cdk8s = await npxCdk8s(project, []);
    expect({ code: cdk8s.code, stderr: cdk8s.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('wrote 21 files for environment "test" to dist/') });
    expect(snapshotTree(join(project, 'dist'))).toEqual(written);
    expect(cdk8s.stdout).toContain(PUBLIC_MANIFEST_FILE);

    // Both at once, neither may touch dist/: the stream on stdout, and a run against a missing state.
    const [stdout, failed] = await Promise.all([
      npxCdk8s(project, ['--stdout']),
      npxCdk8s(project, [], { SIGSTORE_STATE_DIR: join(temp(), 'no-state') }),
    ]);
    expect({ code: stdout.code, stderr: stdout.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const printed = objects(stdout.stdout);
    const expected = [
      ...objects(readFileSync(join(project, 'dist', PUBLIC_MANIFEST_FILE), 'utf8')),
      ...objects(readFileSync(join(project, 'dist', SECRETS_MANIFEST_FILE), 'utf8')),
    ];
    // What `kubectl apply -f -` reads: every object of both files, the Namespace first, each intact.
    expect(printed).toEqual(expected);
    expect(printed[0].kind).toBe('Namespace');

    // A failing app: its one line comes first and names the code; the cdk8s CLI cannot pass the code
    // on (it exits 1 and repeats the app's code in its own line).
    expect(failed.code).not.toBe(0);
    const errorLines = failed.stderr.split('\n').filter((line) => /^error/i.test(line));
    expect(errorLines[0]).toMatch(/^error \[STATE_INCOMPLETE\]: state .*no-state\/test does not exist or is empty; .*run "npm run synth -- --env test" first/);
    expect(failed.stderr).toContain('non-zero exit code 3');

    expect(snapshotTree(join(project, 'dist'))).toEqual(written);
    // Nothing the cdk8s CLI or the app wrote is visible to git.
    expect(gitWouldStage(project)).toEqual([]);
  });

  it('node bin/k8s.js (the app on its own) exits with the documented code and one line', async () => {
    const project = makeTempProject(join(temp(), 'project'));
    const run = await runProcess(process.execPath, ['bin/k8s.js'], { cwd: project, env: { SIGSTORE_ENV: 'test' } });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error \[STATE_INCOMPLETE\]: state \.sigstore\/test does not exist or is empty/)]);
  });
});
