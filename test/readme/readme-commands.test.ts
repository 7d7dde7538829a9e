import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parseDocument, parse as parseYaml } from 'yaml';
import { startUpGates } from '../../lib/k8s/start-up-gates';
import { GRANT_PERMISSION } from '../../lib/otc/kms-errors';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { loadConfig } from '../../lib/config/load';
import { openPasswordsFor } from '../../lib/custody/state-keyring';
import { childEnvironment, LAUNCHER, runProcess, REPO_ROOT, type ProcessRun } from '../helpers/cli-process';
import { fakeIdentityToken, startStandIns, type StandIns } from '../helpers/sigstore-stand-ins';
import { makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';
import { startObsTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { PROJECT_ID, startEmulator } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';
import { changedPodTemplates } from '../helpers/pod-templates';
import { readmeCodeBlocks, readmeShellBlocks, type ReadmeBlock } from './readme-blocks';

/*
 * The README is the runbook, so its commands are run: every ```sh block, in order, in one temp copy
 * of the project, each with `bash -e -o pipefail`. What a real run talks to is replaced by loopback
 * stand-ins: OTC IAM and KMS by the KMS emulator (envs/prd.yaml is the documented example with its
 * endpoints and project pointed at it), OpenTofu by a stand-in `tofu` that records its calls, and
 * the deployed Fulcio, TSA, Rekor and TUF server by the smoke stand-ins, which sign with the keys the
 * README's own ceremony minted. A failing command fails the test with its README line.
 */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

describe('the README command blocks', () => {
  it('are found in the file, with a reason for every skip (a new section is picked up without touching this test)', () => {
    const blocks = readmeShellBlocks(README);
    expect(blocks.filter((block) => !block.skipReason).length).toBeGreaterThanOrEqual(15);
    const synthetic = readmeShellBlocks('# a\n```sh\necho one\n```\n## b\n<!-- readme-test: skip no cluster here -->\n```sh\nkubectl apply\n```\n```text\nnot run\n```\n');
    expect(synthetic).toEqual([
      { line: 2, section: 'a', script: 'echo one' },
      { line: 7, section: 'b', script: 'kubectl apply', skipReason: 'no cluster here' },
    ]);
    expect(() => readmeShellBlocks('<!-- readme-test: skip -->\n```sh\necho\n```\n')).toThrow('needs a reason');
  });

  it('a documented command that fails fails the walk, naming its README line; a failure inside a pipeline too', async () => {
    const cwd = process.cwd();
    const env = { PATH: process.env.PATH };
    await expect(runBlocks(readmeShellBlocks('# s\n```sh\ntrue\n```\n```sh\ntrue\nexit 3\n```\n'), cwd, env)).rejects.toThrow(/README line 5 \(s\) failed with exit 3/);
    await expect(runBlocks(readmeShellBlocks('```sh\nfalse | cat\n```\n'), cwd, env)).rejects.toThrow(/README line 1 .* failed with exit 1/);
    expect(await runBlocks(readmeShellBlocks('<!-- readme-test: skip not here -->\n```sh\nexit 1\n```\n'), cwd, env)).toEqual([]);
  });

  it('the start-up gates table is the one the manifests give', () => {
    const manifest = devManifest();
    const rows = startUpGates(parseAllDocuments(manifest).map((document) => document.toJS())).map((gate) => `| \`${gate.workload}\` | \`${gate.waitsFor}\` | \`${gate.writtenBy}\` |`);
    const table = README.split('\n').filter((line) => /^\| `(Deployment|Job)\//.test(line));
    expect(table).toEqual(rows);
  });

  it('the prerequisites name every KMS permission the ceremony identity needs (what a refusal tells it to grant)', () => {
    const step = README.slice(README.indexOf('**1. Prerequisites.**'), README.indexOf('**2. The environment file.**'));
    const needed = [...GRANT_PERMISSION.matchAll(/kms:[a-z]+:[a-zA-Z]+/g)].map((match) => match[0]);
    expect(needed).toEqual(expect.arrayContaining(['kms:cmk:create', 'kms:dek:create', 'kms:dek:crypto']));
    for (const action of needed) expect({ action, named: step.includes(`\`${action}\``) }).toEqual({ action, named: true });
    for (const role of ['KMS Administrator', 'KMS CMKFullAccess']) expect({ role, named: step.includes(`"${role}"`) }).toEqual({ role, named: true });
  });

  it('its kubectl commands use the namespace of the example they run against (cluster.namespace of envs/prd.example.yaml)', () => {
    const namespace = parseYaml(readFileSync(join(REPO_ROOT, 'envs', 'prd.example.yaml'), 'utf8')).cluster.namespace;
    const used = readmeShellBlocks(README).flatMap((block) => [...block.script.matchAll(/\bkubectl\s+(?:-n|--namespace)[\s=]+(\S+)/g)].map((match) => `${block.line}: ${match[1]}`));
    expect(used.length).toBeGreaterThanOrEqual(5);
    expect(used.filter((entry) => !entry.endsWith(`: ${namespace}`))).toEqual([]);
  });

  describe('run in order against loopback stand-ins', () => {
    const temp = useTempDirectory();
    let emulator: KmsEmulator;
    // The example keeps its state in OBS (state.backend: obs): a loopback S3 server with the example's bucket and key.
    let obs: ObsTestServer;
    let standIns: StandIns;
    beforeEach(async () => {
      obs = await startObsTestServer({ bucket: 'example-forge-prd-sigstore', kmsKeyId: '5a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' });
      // One AK/SK for KMS and OBS, as an operator has.
      emulator = await startEmulator({ accessKeys: [{ accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY }] });
    });
    afterEach(async () => {
      await standIns?.close();
      await emulator.stop();
      await obs.stop();
    });

    it('every documented command succeeds', async () => {
      const project = makeTempProject(join(temp(), 'project'));
      for (const example of ['prd.example.yaml', 'tiles.example.yaml']) copyFileSync(join(REPO_ROOT, 'envs', example), join(project, 'envs', example));
      // The operator's edited copy of the example: the same file, with OTC pointed at the emulator.
      const example = readFileSync(join(REPO_ROOT, 'envs', 'prd.example.yaml'), 'utf8');
      const edited = example
        .replace(/^(\s+iam:) https:\/\/\S+/m, `$1 ${emulator.iamEndpoint}`)
        .replace(/^(\s+kms:) https:\/\/\S+/m, `$1 ${emulator.kmsEndpoint}`)
        .replace(/^(\s+obs:) https:\/\/\S+/m, `$1 ${obs.endpoint}`)
        .replace(/^(\s+projectId:) [0-9a-f]{32}/m, `$1 ${PROJECT_ID}`);
      expect(edited).not.toBe(example);
      writeFileSync(join(project, 'envs', 'prd.yaml'), edited);

      standIns = await startStandIns({
        // The keys' passwords are sealed under the state's KMS data key: opened through the emulator, as synth does.
        material: async () => {
          const store = new StateStore({ root: join(project, '.sigstore'), env: 'prd' });
          const snapshot = await store.load();
          const config = loadConfig({ env: 'prd', envsDir: join(project, 'envs') });
          await openPasswordsFor(config, snapshot, store.directory, { kms: { environment: { OS_ACCESS_KEY: TEST_ACCESS_KEY, OS_SECRET_KEY: TEST_SECRET_KEY } } });
          return readPkiMaterial(snapshot);
        },
        tufDirectory: join(project, 'dist', 'trust', 'tuf'),
        rekorOrigin: 'rekor.example.com',
      });
      const bin = join(temp(), 'bin');
      mkdirSync(bin);
      writeExecutable(join(bin, 'sigstore-cdk'), `#!/bin/sh\nexec "${process.execPath}" "${join(project, 'bin', 'sigstore-cdk.js')}" "$@"\n`);
      writeExecutable(join(bin, 'tofu'), `#!/bin/sh\necho "tofu $*" >> "${join(temp(), 'tofu.log')}"\n`);
      writeExecutable(join(bin, 'node'), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
      const environment: NodeJS.ProcessEnv = {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: join(temp(), 'home'),
        ...obs.cliEnvironment(),
        SIGSTORE_ID_TOKEN: fakeIdentityToken('release-bot@example.com'),
        SIGSTORE_CDK_FULCIO_URL: standIns.urls.fulcio,
        SIGSTORE_CDK_TSA_URL: standIns.urls.tsa,
        SIGSTORE_CDK_REKOR_URL: standIns.urls.rekor,
        SIGSTORE_CDK_TUF_URL: standIns.urls.tuf,
        CDK8S_CHECK_UPGRADE: 'false',
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
      };
      mkdirSync(environment.HOME!);

      const ran = await runBlocks(readmeShellBlocks(README), project, environment, proseEdits(project, join(temp(), 'tofu.log')));
      expect(ran.length).toBeGreaterThanOrEqual(15);
      // The walk did what the runbook says: keys in KMS, the cloud stack through tofu, a smoke test that signed.
      // (the Fulcio root's generation 2 from the yearly runbook of "Rotation and renewal": keys ensure --next fulcio-root)
      expect(emulator.listKeys().map((key) => key.alias).sort()).toEqual(['sigstore-fulcio-root-g1', 'sigstore-fulcio-root-g2', 'sigstore-prd-state', 'sigstore-tsa-root-g1', 'sigstore-tuf-root-g1']);
      const tofuLog = readFileSync(join(temp(), 'tofu.log'), 'utf8');
      expect(tofuLog).toContain('tofu -chdir=cdktf.out/stacks/sigstore-prd apply -target=opentelekomcloud_kms_key_v1.sigstore_bootstrap');
      // Every resource the runbook targets is one of the stack (tofu only warns about a target that matches nothing).
      const resources = JSON.parse(readFileSync(join(project, 'cdktf.out', 'stacks', 'sigstore-prd', 'cdk.tf.json'), 'utf8')).resource;
      const targets = [...tofuLog.matchAll(/-target=(\S+)/g)].map((match) => match[1]);
      expect(targets.length).toBeGreaterThanOrEqual(3);
      for (const target of targets) {
        const [type, name] = target.split('.');
        expect({ target, exists: resources[type]?.[name] !== undefined }).toEqual({ target, exists: true });
      }
      expect(standIns.requests).toEqual(expect.arrayContaining(['POST /fulcio/api/v2/signingCert', 'POST /tsa/api/v1/timestamp', 'POST /rekor/api/v1/log/entries']));
    }, 900_000);
  });
});

/**
 * A step whose prose asks the operator to edit `envs/prd.yaml` by hand, before the command block that
 * follows it: the walk makes that edit, taken from the README's own text, and checks after the block
 * that the commands did what the prose says. Keyed by the README line of that block.
 */
interface ProseEdit {
  readonly name: string;
  /** The hand edit, before the block runs. @default - none (the edit only checks what the block did) */
  before?(): void;
  /** `run`: the block's process (its stdout is the output of all its commands). */
  after(run: ProcessRun): void;
}

/** The README line of the first ```sh block after the text `marker` (which must be in the README once). */
function shellBlockAfter(marker: string): { line: number; prose: string } {
  const at = README.indexOf(marker);
  if (at === -1 || README.indexOf(marker, at + 1) !== -1) throw new Error(`the README no longer has the text "${marker}" once: update the walk's prose edits`);
  const markerLine = README.slice(0, at).split('\n').length;
  const block = readmeShellBlocks(README).find((candidate) => candidate.line > markerLine);
  if (!block) throw new Error(`no command block after "${marker}"`);
  return { line: block.line, prose: README.split('\n').slice(markerLine - 1, block.line - 1).join('\n') };
}

const RUNBOOK_SECTION = 'The way to production (runbook)';

/**
 * The objects a kubectl command line names (`job/x`, `get configmap a b`, `rollout status deployment x`),
 * as `kind/name`; what it creates (`create secret …`) is not a reference.
 */
function kubectlReferences(script: string): string[] {
  const references: string[] = [];
  for (const line of script.split('\n').map((text) => text.replace(/#.*$/, ''))) {
    if (!/\bkubectl\b/.test(line) || /\bkubectl\b.*\screate\s/.test(line)) continue;
    for (const match of line.matchAll(/\b(job|deployment|configmap|secret|statefulset|cronjob)\/([a-z0-9-]+)/g)) references.push(`${match[1]}/${match[2]}`);
    const listed = /\s(?:get|status)\s+(configmap|deployment|job|secret)((?:\s+[a-z0-9][a-z0-9-]*)+)/.exec(line);
    if (listed) for (const name of listed[2].trim().split(/\s+/)) references.push(`${listed[1]}/${name}`);
  }
  return references;
}

function editEnvironment(project: string, edit: (document: ReturnType<typeof parseDocument>) => void): void {
  const path = join(project, 'envs', 'prd.yaml');
  const document = parseDocument(readFileSync(path, 'utf8'));
  edit(document);
  writeFileSync(path, String(document));
}

/**
 * The runbook's hand edits: step 4 moves the Terraform state into the bucket, step 8 pins the trees
 * for HA signers, step 13 onboards a tenant. And what "The CLI" promises of its block's output.
 */
function proseEdits(project: string, tofuLog: string): Map<number, ProseEdit> {
  const edits = new Map<number, ProseEdit>();
  const stack = join(project, 'cdktf.out', 'stacks', 'sigstore-prd');

  // "The CLI": after npm ci, npx finds the project's bin and adds nothing to its stdout; `help` is not
  // an error; `npm run --silent synth -- --json` writes exactly one JSON document.
  const cli = shellBlockAfter('## The CLI\n');
  edits.set(cli.line, {
    name: 'The CLI: npx, help and --json',
    after(run) {
      const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      expect(run.stdout.startsWith(`${version}\nUsage: sigstore-cdk`)).toBe(true);
      const synth = JSON.parse(readFileSync(join(project, 'synth.json'), 'utf8')); // the whole file: no npm banner, no progress
      expect(synth).toMatchObject({ minted: expect.any(Array) });
    },
  });

  // Step 4: "set `cloud.stateBackend: { … }` in envs/prd.yaml", then the block with init -migrate-state.
  const migrate = shellBlockAfter('Then move the state into the bucket');
  let bucket = '';
  edits.set(migrate.line, {
    name: 'step 4: the Terraform state into the bootstrap bucket',
    before() {
      const written = /set `cloud\.stateBackend: (\{[^`]*\})`/.exec(migrate.prose);
      if (!written) throw new Error(`README line ${migrate.line}: the prose before the block no longer says which cloud.stateBackend to set`);
      editEnvironment(project, (document) => {
        bucket = String(document.getIn(['cloud', 'bootstrapBucket', 'name']));
        const yaml = written[1].replace(/\s+/g, ' ').replace('<the bootstrap bucket>', bucket);
        document.setIn(['cloud', 'stateBackend'], document.createNode(parseYaml(yaml)));
      });
    },
    after() {
      const backend = JSON.parse(readFileSync(join(stack, 'cdk.tf.json'), 'utf8')).terraform.backend;
      expect(Object.keys(backend)).toEqual(['s3']);
      expect(backend.s3).toMatchObject({ bucket, key: 'sigstore/prd/terraform.tfstate' });
      expect(readFileSync(tofuLog, 'utf8').split('\n')).toContain('tofu -chdir=cdktf.out/stacks/sigstore-prd init -migrate-state');
    },
  });

  // Step 8, HA log signers: the replicas and the tree ids of the README's yaml block under services.trillian; then synth.
  const highAvailability = shellBlockAfter('**HA log signers.**');
  let trillian: { logSignerReplicas: number; treeIds: Record<string, string> } = { logSignerReplicas: 0, treeIds: {} };
  edits.set(highAvailability.line, {
    name: 'step 8: HA log signers',
    before() {
      const [block] = readmeCodeBlocks(highAvailability.prose, 'yaml');
      if (!block) throw new Error(`README line ${highAvailability.line}: the HA paragraph no longer shows the fields it sets`);
      trillian = parseYaml(block.script);
      // The example deploys first with one signer and no pinned trees (they do not exist before the first deployment).
      editEnvironment(project, (document) => {
        expect(document.getIn(['services', 'trillian', 'logSignerReplicas'])).toBe(1);
        expect(document.hasIn(['services', 'trillian', 'treeIds'])).toBe(false);
        for (const [field, value] of Object.entries(trillian)) document.setIn(['services', 'trillian', field], document.createNode(value));
      });
    },
    after() {
      const objects = parseAllDocuments(readFileSync(join(project, 'dist', 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJS());
      const signer = objects.find((object) => object?.kind === 'Deployment' && object.metadata.name === 'trillian-log-signer');
      expect(signer.spec.replicas).toBe(trillian.logSignerReplicas);
      const leases = objects.filter((object) => object?.kind === 'Lease').map((object) => object.metadata.name);
      expect(leases.sort()).toEqual(Object.values(trillian.treeIds).sort());
      // The runbook's cluster commands (skipped: no cluster here) name only objects the manifest it applies holds.
      const held = new Set(objects.filter(Boolean).map((object) => `${String(object.kind).toLowerCase()}/${object.metadata.name}`));
      const clusterBlocks = readmeShellBlocks(README).filter((block) => block.section === RUNBOOK_SECTION && block.skipReason && /\bkubectl\b/.test(block.script));
      expect(clusterBlocks.length).toBeGreaterThanOrEqual(2);
      for (const block of clusterBlocks) {
        for (const reference of kubectlReferences(block.script)) expect({ line: block.line, reference, held: held.has(reference) }).toEqual({ line: block.line, reference, held: true });
      }
    },
  });

  // Step 13: the tenant of the README's yaml block, appended to oidc.tenants; then refresh and synth.
  const onboarding = shellBlockAfter('**13. Tenant onboarding.**');
  const manifest = () => readFileSync(join(project, 'dist', 'sigstore.k8s.yaml'), 'utf8');
  let before = '';
  let tenants: { issuers: { url: string }[] }[] = [];
  edits.set(onboarding.line, {
    name: 'step 13: a tenant onboarded',
    before() {
      const [entry] = readmeCodeBlocks(onboarding.prose, 'yaml');
      if (!entry) throw new Error(`README line ${onboarding.line}: step 13 no longer shows the tenant entry it adds`);
      tenants = parseYaml(entry.script);
      editEnvironment(project, (document) => {
        for (const tenant of tenants) document.addIn(['oidc', 'tenants'], document.createNode(tenant));
      });
      before = manifest();
    },
    after() {
      const fulcio = parseAllDocuments(manifest()).map((document) => document.toJS()).find((object) => object?.kind === 'ConfigMap' && object.metadata.name === 'fulcio-config');
      const issuers = Object.keys(JSON.parse(fulcio.data['config.json']).OIDCIssuers);
      for (const issuer of tenants.flatMap((tenant) => tenant.issuers)) expect(issuers).toContain(issuer.url);
      // What the prose says restarts, and nothing else.
      expect(changedPodTemplates(before, manifest())).toEqual(['Deployment/fulcio', 'Deployment/tuf']);
    },
  });
  return edits;
}

/**
 * Runs the blocks that are not skipped, in order, each with `bash -e -o pipefail`; the first failure
 * throws with its README line. A prose edit keyed by a block's line runs around it.
 */
async function runBlocks(blocks: readonly ReadmeBlock[], cwd: string, env: NodeJS.ProcessEnv, edits: ReadonlyMap<number, ProseEdit> = new Map()): Promise<string[]> {
  const ran: string[] = [];
  const applied: string[] = [];
  for (const block of blocks) {
    if (block.skipReason) continue;
    const edit = edits.get(block.line);
    edit?.before?.();
    const run = await runProcess('bash', ['-e', '-o', 'pipefail', '-c', block.script], { cwd, env, timeoutMs: 180_000 });
    if (run.code !== 0) {
      throw new Error(
        `README line ${block.line} (${block.section}) failed with exit ${run.code}:\n${block.script}\n--- stdout (tail)\n${run.stdout.slice(-1500)}\n--- stderr (tail)\n${run.stderr.slice(-3000)}`,
      );
    }
    if (edit) {
      edit.after(run);
      applied.push(edit.name);
    }
    ran.push(`${block.line} ${block.section}`);
  }
  const missed = [...edits.values()].map((edit) => edit.name).filter((name) => !applied.includes(name));
  if (missed.length > 0) throw new Error(`the walk never reached the block of ${missed.join(', ')}`);
  return ran;
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** The dev manifest, from a synth of the embedded default into a temp directory. */
function devManifest(): string {
  const directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-gates-'));
  try {
    const result = spawnSync(process.execPath, [LAUNCHER, 'synth', '--out', join(directory, 'dist'), '--state-dir', join(directory, '.sigstore'), '--envs-dir', join(directory, 'envs')], {
      cwd: directory,
      env: childEnvironment(),
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
    return readFileSync(join(directory, 'dist', 'sigstore.k8s.yaml'), 'utf8');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
