import * as z from 'zod';
import { obsBucketNameProblem } from '../cloud/naming';

/*
 * The `state:` section of an environment file: where the state lives. `local` (the default) keeps it
 * in `.sigstore/<env>/` only; `obs` keeps the durable copy in an OBS bucket (the bootstrap bucket,
 * lib/cloud/bootstrap-bucket.ts) and `.sigstore/<env>/` is a working copy that `sigstore-cdk state
 * pull|push` moves to and from it (lib/remote/). Documented in envs/prd.example.yaml.
 */

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/**
 * The SSE-KMS key of the objects, as OBS's S3 API takes it in x-amz-server-side-encryption-aws-kms-key-id:
 * a key id, or `arn:aws:kms:<region>:<domain id>:key/<key id>` (OTC OBS API reference, "Server-Side
 * Encryption / SSE-KMS").
 */
const KMS_KEY_ID = new RegExp(`^(${UUID}|arn:aws:kms:[a-z0-9-]{1,32}:[0-9a-f]{32}:key/${UUID})$`);
const PREFIX = /^[a-z0-9][a-z0-9._-]{0,62}(\/[a-z0-9][a-z0-9._-]{0,62}){0,7}$/;

const bucketName = z.string({ error: 'expected an OBS bucket name' }).superRefine((value, context) => {
  const problem = obsBucketNameProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: `expected an OBS bucket name that ${problem}`, input: value });
});

export const stateSchema = z.discriminatedUnion(
  'backend',
  [
    z.strictObject({
      /** The state lives in `.sigstore/<env>/` only: back it up yourself. */
      backend: z.literal('local'),
    }),
    z.strictObject({
      /** The durable state is in an OBS bucket; `.sigstore/<env>/` is the working copy. Needs `otc.region`. */
      backend: z.literal('obs'),
      /** The bucket: versioned, private. @default - cloud.bootstrapBucket.name */
      bucket: bucketName.optional(),
      /** Key prefix of the state; the environment's objects are under `<prefix>/<env>/`. @default sigstore-state */
      prefix: z
        .string({ error: 'expected an object key prefix' })
        .regex(PREFIX, { error: 'expected an object key prefix of lowercase letters, digits, ".", "_", "-" and "/" between parts, e.g. "sigstore-state"' })
        .default('sigstore-state'),
      /** The bucket's SSE-KMS key (the cloud stack's `bootstrap_key_id` output): every object is written encrypted with it. */
      kmsKeyId: z
        .string({ error: 'expected the id of the bucket\'s SSE-KMS key (the cloud stack output "bootstrap_key_id")' })
        .regex(KMS_KEY_ID, { error: 'expected a KMS key id (a lowercase UUID) or "arn:aws:kms:<region>:<domain id>:key/<key id>"' }),
      /** Seconds a remote lock lives without being refreshed before another machine may take it over. @default 120 */
      lockTtlSeconds: z
        .number({ error: 'expected a whole number of seconds from 10 to 3600' })
        .int({ error: 'expected a whole number of seconds from 10 to 3600' })
        .min(10, { error: 'expected a whole number of seconds from 10 to 3600' })
        .max(3600, { error: 'expected a whole number of seconds from 10 to 3600' })
        .default(120),
    }),
  ],
  { error: 'expected "backend: local" or "backend: obs"' },
);

export type StateConfig = z.output<typeof stateSchema>;

/** Rules between `state` and the other sections (read from the raw file, like every cross-field rule). */
export function stateCrossFieldProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const config = (raw ?? {}) as { state?: { backend?: unknown; bucket?: unknown }; otc?: unknown; cloud?: { bootstrapBucket?: { name?: unknown } } };
  if (config.state?.backend !== 'obs') return [];
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  if (config.otc === undefined) {
    problems.push({ path: ['otc'], message: 'expected an "otc" section (at least otc.region, for the OBS endpoint) because state.backend is "obs"', input: undefined });
  }
  if (config.state.bucket === undefined && config.cloud?.bootstrapBucket?.name === undefined) {
    problems.push({
      path: ['state', 'bucket'],
      message: 'expected the OBS bucket of the state because state.backend is "obs" and there is no cloud.bootstrapBucket.name to default to',
      input: undefined,
    });
  }
  return problems;
}
