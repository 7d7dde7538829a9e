import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../../lib/k8s/cluster-manifests';
import { snapshotTree } from '../helpers/snapshot';
import { runProcess } from '../helpers/cli-process';
import { gitWouldStage, makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * The real `cdk8s synth` of the project (cdk8s.yaml), without its network upgrade check: through
 * `npx`, or (`direct`) the same cdk8s-cli bin without npx's half second of startup.
 */
function cdk8sSynth(project: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; direct?: boolean } = {}) {
  const env = { SIGSTORE_ENV: 'test', CDK8S_CHECK_UPGRADE: 'false', npm_config_update_notifier: 'false', ...options.env };
  return options.direct
    ? runProcess(process.execPath, [join(project, 'node_modules', '.bin', 'cdk8s'), 'synth', ...args], { cwd: project, env })
    : runProcess('npx', ['--no', 'cdk8s', 'synth', ...args], { cwd: project, env });
}

/** Every object of a multi-document YAML stream; fails on a document that does not parse. */
function objects(text: string): { kind: string; metadata: { name: string } }[] {
  return parseAllDocuments(text).map((document, index) => {
    expect({ index, errors: document.errors.map((error) => error.message) }).toEqual({ index, errors: [] });
    return document.toJS();
  });
}

describe('cdk8s synth (the cdk8s CLI running bin/k8s.js, as a process)', () => {
  const temp = useTempDirectory();

  it('npx cdk8s synth writes dist/; --stdout prints it whole and a failure leaves it as it was', async () => {
    const project = makeTempProject(join(temp(), 'project'), { fixtureState: true, git: true });
    const cdk8s = await cdk8sSynth(project, []);
    expect({ code: cdk8s.code, stderr: cdk8s.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('wrote 21 files for environment "test" to dist/') });
    expect(cdk8s.stdout).toContain(PUBLIC_MANIFEST_FILE);
    const written = snapshotTree(join(project, 'dist'));
    expect(Object.keys(written)).toEqual(expect.arrayContaining([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE, 'trust/trusted_root.json']));

    // Both at once, neither may touch dist/: the stream on stdout, and a run against a missing state.
    const [stdout, failed] = await Promise.all([
      cdk8sSynth(project, ['--stdout'], { direct: true }),
      cdk8sSynth(project, [], { env: { SIGSTORE_STATE_DIR: join(temp(), 'no-state') }, direct: true }),
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

    // A failing app: its one line comes first and names the code, and the app exits 3; the cdk8s CLI
    // cannot pass the code on (it exits 1, saying "non-zero exit code 3" in its own trace).
    expect(failed.code).toBe(1);
    const errorLines = failed.stderr.split('\n').filter((line) => /^error/i.test(line));
    expect(errorLines[0]).toMatch(/^error \[STATE_INCOMPLETE\]: state .*no-state\/test does not exist or is empty; .*run "npm run synth -- --env test" first/);
    expect(failed.stderr).toContain('non-zero exit code 3');

    expect(snapshotTree(join(project, 'dist'))).toEqual(written);
    // Nothing the cdk8s CLI or the app wrote is visible to git.
    expect(gitWouldStage(project)).toEqual([]);
  });
});
