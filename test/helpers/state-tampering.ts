import { spawn } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';
import type { CliRun } from './cli';
import { LAUNCHER, childEnvironment } from './cli-process';
import { curveOf } from '../../lib/pki/keys';

/*
 * What an operator (or an attacker holding the files) does to a state directory by hand, for the
 * custody tests: drop items, copy files from another environment, re-hash the manifest so that the
 * file hashes match again. And the CLI as a real process (exit codes, stderr).
 */


/** Environment of a CLI process: PATH and HOME only (no OTC credentials leak in), plus `extra`. */
function processEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return childEnvironment({ SIGSTORE_CDK_OPERATOR: 'custody-test', ...extra });
}

/**
 * Runs `node bin/sigstore-cdk.js …args` as a child process, asynchronously (so that a KMS emulator in
 * this process keeps answering), and resolves with its exit code and output. Killed after `timeoutMs`.
 */
export function runCliProcess(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: options.cwd, env: processEnvironment(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Writes `<dir>/envs/<env>.yaml` (a local-signer environment unless `yaml` says otherwise); returns the envs directory. */
export function writeEnvironment(directory: string, env: string, yaml = 'organization: Custody Org\nsigner: local\n'): string {
  const envsDir = join(directory, 'envs');
  mkdirSync(envsDir, { recursive: true });
  writeFileSync(join(envsDir, `${env}.yaml`), yaml);
  return envsDir;
}

export type ManifestJson = {
  format: string;
  env: string;
  items: Record<string, { mintedAt: string; signedBy?: string; files: Record<string, string> }>;
  files: Record<string, string>;
  [field: string]: unknown;
};

export function readManifest(stateDir: string): ManifestJson {
  return JSON.parse(readFileSync(join(stateDir, 'manifest.json'), 'utf8'));
}

export function writeManifest(stateDir: string, manifest: ManifestJson): void {
  writeFileSync(join(stateDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Recomputes the SHA-256 of every file the manifest lists, so that edited files pass the hash check. */
export function rehashManifest(stateDir: string): void {
  const manifest = readManifest(stateDir);
  for (const path of Object.keys(manifest.files)) manifest.files[path] = sha256(readFileSync(join(stateDir, path)));
  writeManifest(stateDir, manifest);
}

/** Removes items from a consistent state: their manifest entries, their files and the files' hashes. */
export function dropItems(stateDir: string, ids: readonly string[]): void {
  const manifest = readManifest(stateDir);
  for (const id of ids) {
    const item = manifest.items[id];
    if (!item) throw new Error(`dropItems: the state has no item ${id}`);
    delete manifest.items[id];
    const stillUsed = new Set(Object.values(manifest.items).flatMap((other) => Object.values(other.files)));
    for (const path of Object.values(item.files)) {
      if (stillUsed.has(path)) continue;
      delete manifest.files[path];
      rmSync(join(stateDir, path), { force: true });
    }
  }
  writeManifest(stateDir, manifest);
}

/** Ids of the items whose id starts with `prefix`. */
export function itemIds(stateDir: string, prefix: string): string[] {
  return Object.keys(readManifest(stateDir).items).filter((id) => id.startsWith(prefix));
}

/** Copies the files of `from/<directory>/` over the same names in `to/<directory>/` (keeping their 0600 modes). */
export function copyStateDirectory(from: string, to: string, directory: string): void {
  for (const name of readdirSync(join(from, directory))) {
    cpSync(join(from, directory, name), join(to, directory, name), { recursive: true });
  }
}

/** The ceremony log's lines (none when the file is absent). */
export function ceremonyLines(stateDir: string): string[] {
  const path = join(stateDir, 'ceremony.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
}

/**
 * What an attacker who knows the state format does after copying another environment's `<root>/`
 * into a state: pins the root key to the substituted certificate's key (keeping the key reference
 * the manifest claims) and appends ceremony records that "signed" the substituted root and
 * intermediate, with a valid hash chain and head, then re-hashes the manifest. Everything a copy of
 * the files allows; it cannot make KMS hold the substituted key. Returns false (and does nothing but
 * re-hash) for a state without pins.
 */
export function forgeCustody(stateDir: string, root: 'fulcio' | 'tsa'): boolean {
  rehashManifest(stateDir);
  const manifest = readManifest(stateDir);
  const pins = manifest.rootKeys as Record<string, { keyRef: string; spkiSha256: string }> | undefined;
  if (!pins?.[root]) return false;
  const parse = (path: string) => pkijs.Certificate.fromBER(new x509.X509Certificate(readFileSync(join(stateDir, path), 'utf8')).rawData);
  const rootCertificate = parse(`${root}/root.crt.pem`);
  const spki = Buffer.from(rootCertificate.subjectPublicKeyInfo.toSchema().toBER());
  const hash = curveOf(createPublicKey({ key: spki, format: 'der', type: 'spki' })) === 'P-256' ? 'sha256' : 'sha384';
  pins[root].spkiSha256 = sha256(spki);
  const lines = ceremonyLines(stateDir);
  const append = (record: Record<string, unknown>) => {
    const prev = lines.length ? sha256(lines[lines.length - 1]) : '0'.repeat(64);
    lines.push(JSON.stringify({ seq: lines.length + 1, prev, ...record }));
    return sha256(lines[lines.length - 1]);
  };
  for (const [certificate, purpose] of [
    [rootCertificate, `${root}-root certificate`],
    [parse(`${root}/intermediate.crt.pem`), `${root}-intermediate certificate`],
  ] as const) {
    const common = { time: '2026-01-01T00:00:00.000Z', env: manifest.env, keyRef: pins[root].keyRef };
    const intent = append({
      kind: 'sign-intent',
      ...common,
      operator: 'forger',
      keySpki: sha256(spki),
      purpose,
      digestAlgorithm: hash === 'sha256' ? 'SHA-256' : 'SHA-384',
      digest: createHash(hash).update(certificate.tbsView).digest('hex'),
    });
    append({ kind: 'sign-result', ...common, intent, outcome: 'signed', signatureSha256: sha256(Buffer.from(certificate.signatureValue.valueBlock.valueHexView)) });
  }
  writeFileSync(join(stateDir, 'ceremony.jsonl'), lines.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  manifest.ceremonyLog = { records: lines.length, head: sha256(lines[lines.length - 1]) };
  writeManifest(stateDir, manifest);
  return true;
}
