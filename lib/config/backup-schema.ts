import * as z from 'zod';
import { obsBucketNameProblem } from '../cloud/naming';
import { secretNameProblem, storageQuantityProblem } from './field-rules';

/*
 * The `backup:` section: the MySQL dumps to OBS (a CronJob, lib/k8s/mysql-backup.ts) and what Rekor's
 * Redis keeps across restarts. Documented in envs/prd.example.yaml.
 */
const CRON = /^\S+(\s+\S+){4}$/;

const rule = (check: (value: string) => string | undefined, what: string) =>
  z.string({ error: `expected ${what}` }).superRefine((value, context) => {
    const problem = check(value);
    if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
  });

export const backupSchema = z.strictObject({
  /** Trillian's database, dumped with mysqldump --single-transaction to OBS on a schedule. */
  mysql: z
    .strictObject({
      /** @default false */
      enabled: z.boolean().default(false),
      /** Cron schedule (five fields, UTC). @default 30 2 * * * (02:30 every day) */
      schedule: z.string().regex(CRON, { error: 'expected a cron schedule of five fields, e.g. "30 2 * * *"' }).default('30 2 * * *'),
      /** The bucket. @default - state.bucket, else cloud.bootstrapBucket.name */
      bucket: rule((value) => (obsBucketNameProblem(value) ? `expected an OBS bucket name that ${obsBucketNameProblem(value)}` : undefined), 'an OBS bucket name').optional(),
      /** Key prefix of the dumps. @default mysql-backup/<env> */
      prefix: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/, { error: 'expected an object key prefix such as "mysql-backup/prd" (no leading or trailing "/")' })
        .optional(),
      /** Dumps older than this are deleted by the job. @default 30 */
      retentionDays: z
        .number({ error: 'expected a whole number of days from 1 to 3650' })
        .int({ error: 'expected a whole number of days from 1 to 3650' })
        .min(1, { error: 'expected a whole number of days from 1 to 3650' })
        .max(3650, { error: 'expected a whole number of days from 1 to 3650' })
        .default(30),
      /** Secret (in cluster.namespace, created by the operator) with keys `access-key` and `secret-key`. @default sigstore-backup-obs */
      credentialsSecret: rule(secretNameProblem, 'a Secret name').default('sigstore-backup-obs'),
    })
    .prefault({}),
  /** Rekor's Redis (its search index). */
  redis: z
    .discriminatedUnion(
      'kind',
      [
        /** An emptyDir: after a pod restart the index is rebuilt from the log with Rekor's backfill-redis (see the README). */
        z.strictObject({ kind: z.literal('rebuild') }),
        /** A PersistentVolumeClaim: the index survives restarts. */
        z.strictObject({
          kind: z.literal('volume'),
          /** @default 1Gi */
          storageSize: rule(storageQuantityProblem, 'a storage size such as "1Gi"').default('1Gi'),
          /** @default - the cluster's default StorageClass */
          storageClassName: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, { error: 'expected a StorageClass name' }).optional(),
        }),
      ],
      { error: 'expected "kind: rebuild" or "kind: volume"' },
    )
    .prefault({ kind: 'rebuild' }),
});

export type BackupConfig = z.output<typeof backupSchema>;

/** `backup.mysql` needs a bucket and OBS's endpoint (otc.region). */
export function backupCrossFieldProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const config = (raw ?? {}) as { backup?: { mysql?: { enabled?: unknown; bucket?: unknown } }; state?: { bucket?: unknown }; cloud?: { bootstrapBucket?: { name?: unknown } }; otc?: unknown };
  if (config.backup?.mysql?.enabled !== true) return [];
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  if (config.otc === undefined) problems.push({ path: ['otc'], message: 'expected an "otc" section (otc.region, for the OBS endpoint) because backup.mysql is enabled', input: undefined });
  if (config.backup.mysql.bucket === undefined && config.state?.bucket === undefined && config.cloud?.bootstrapBucket?.name === undefined) {
    problems.push({ path: ['backup', 'mysql', 'bucket'], message: 'expected the bucket of the dumps: set backup.mysql.bucket (or state.bucket, or cloud.bootstrapBucket.name)', input: undefined });
  }
  return problems;
}
