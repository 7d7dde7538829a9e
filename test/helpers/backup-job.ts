import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, type ProcessRun } from './cli-process';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, type ObsTestServer } from './obs-server';

/*
 * The MySQL backup CronJob's two container scripts (lib/k8s/mysql-backup.ts), run as rendered by
 * /bin/sh on this machine: the pod's volumes become directories under one job directory (scratch,
 * secrets, the OBS credentials), OBS's endpoint becomes the loopback S3 server. The bootstrap bucket
 * applies SSE-KMS by default on OBS; the test server wants the headers on every PUT, so a stand-in
 * curl first on PATH adds them to an upload (`-T`) and runs the real curl.
 */
export const OBS_PRODUCTION_ENDPOINT = 'https://obs.eu-de.otc.t-systems.com';

export interface BackupJobDirectory {
  readonly root: string;
  readonly scratch: string;
  readonly secrets: string;
}

/** A new job directory under `parent`, with the OBS credentials Secret's two files and the stand-in curl. */
export function backupJobDirectory(parent: string, obs: ObsTestServer): BackupJobDirectory {
  const root = mkdtempSync(join(parent, 'job-'));
  for (const sub of ['scratch', 'secrets', 'obs', 'bin']) mkdirSync(join(root, sub));
  writeFileSync(join(root, 'obs', 'access-key'), TEST_ACCESS_KEY);
  writeFileSync(join(root, 'obs', 'secret-key'), TEST_SECRET_KEY);
  const realCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
  if (!realCurl) throw new Error('curl is not installed: .ci/run installs it');
  writeFileSync(
    join(root, 'bin', 'curl'),
    [
      '#!/bin/sh',
      'case " $* " in',
      `  *" -T "*) exec ${realCurl} -H 'x-amz-server-side-encryption: aws:kms' -H 'x-amz-server-side-encryption-aws-kms-key-id: ${obs.kmsKeyId}' "$@" ;;`,
      `  *) exec ${realCurl} "$@" ;;`,
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { root, scratch: join(root, 'scratch'), secrets: join(root, 'secrets') };
}

/**
 * Runs one container's script with its volume paths under the job directory and OBS on loopback.
 * Asynchronously: the S3 server answers from this very process.
 */
export function runBackupScript(script: string, job: BackupJobDirectory, obs: ObsTestServer, env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
  const local = script
    .replaceAll('/scratch/', `${job.root}/scratch/`)
    .replaceAll('/secrets/', `${job.root}/secrets/`)
    .replaceAll('/obs/', `${job.root}/obs/`)
    .replaceAll(OBS_PRODUCTION_ENDPOINT, obs.endpoint);
  return runProcess('/bin/sh', ['-c', local], { cwd: job.root, env: { PATH: `${job.root}/bin:${process.env.PATH}`, ...env } });
}
