import * as z from 'zod';
import {
  namePrefixProblem,
  SMN_PROTOCOLS,
  smnEndpointProblem,
  subscriptionNameProblem,
  obsBucketNameProblem,
  swrRegionOfRegistry,
  tagProblem,
} from '../cloud/naming';

/*
 * The `cloud:` section of an environment file: what the cdktf stack `sigstore-<env>` creates in the
 * OTC project of `otc:`. An environment without it gets no cloud stack. Every field is documented
 * in envs/prd.example.yaml; defaults are the runbook's where it has one.
 */

/** A zod string check from one of the naming rules in lib/cloud/naming.ts. */
const named = (rule: (value: string) => string | undefined, what: string) =>
  z
    .string({ error: `expected ${what}` })
    .superRefine((value, context) => {
      const problem = rule(value);
      if (problem) context.addIssue({ code: 'custom', message: `expected ${what} that ${problem}`, input: value });
    });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuid = (what: string) =>
  z.string({ error: `expected ${what} (a lowercase UUID)` }).regex(UUID, { error: `expected ${what} (a lowercase UUID)` });

const positiveWhole = (what: string, max: number) =>
  z
    .number({ error: `expected ${what}: a whole number from 1 to ${max}` })
    .int({ error: `expected ${what}: a whole number from 1 to ${max}` })
    .min(1, { error: `expected ${what}: a whole number from 1 to ${max}` })
    .max(max, { error: `expected ${what}: a whole number from 1 to ${max}` });

/** Where alarm notifications go (an SMN subscription). */
const subscription = z
  .strictObject({
    /** Stable name: the subscription's Terraform address is `opentelekomcloud_smn_subscription_v2.sigstore_alarms_<name>`. */
    name: named(subscriptionNameProblem, 'a subscription name'),
    /** SMN protocol. */
    protocol: z.enum(SMN_PROTOCOLS),
    /** Mail address, phone number (+E.164) or URL, matching the protocol. */
    endpoint: z.string({ error: 'expected the subscription endpoint' }).min(1, { error: 'expected the subscription endpoint' }),
  })
  .superRefine((value, context) => {
    const problem = smnEndpointProblem(value.protocol, value.endpoint);
    if (problem) context.addIssue({ code: 'custom', path: ['endpoint'], message: problem, input: value.endpoint });
  });

const RELATIVE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

const stateBackend = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({
        kind: z.literal('local'),
        /**
         * State file, relative to the directory holding `cdktf.out/` (never inside it: synth rewrites
         * `cdktf.out/`). @default terraform.sigstore-<env>.tfstate
         */
        path: z
          .string()
          .max(1024, { error: 'expected a path of at most 1024 characters' })
          .regex(RELATIVE_PATH, { error: 'expected a relative path without ".." or a leading "/", e.g. "terraform.sigstore-prd.tfstate"' })
          .refine((path) => !path.split('/').includes('..'), { error: 'expected a path without ".."' })
          .optional(),
      }),
      z.strictObject({
        kind: z.literal('obs'),
        /** An existing OBS bucket (it may be the bootstrap bucket, once created). */
        bucket: named(obsBucketNameProblem, 'an OBS bucket name'),
        /** Object key of the state. @default sigstore/<env>/terraform.tfstate */
        key: z
          .string()
          .max(1024, { error: 'expected an object key of at most 1024 characters' })
          .regex(RELATIVE_PATH, { error: 'expected an object key such as "sigstore/prd/terraform.tfstate"' })
          .optional(),
      }),
    ],
    { error: 'expected "kind: local" or "kind: obs"' },
  )
  .prefault({ kind: 'local' });

export const cloudSchema = z.strictObject({
  /** Prefix of every name the stack gives (alarms, SMN topic, KMS alias). @default sigstore-<env> */
  namePrefix: named(namePrefixProblem, 'a name prefix').optional(),

  /** Tags on every taggable resource, besides `managed-by: sigstore-cdk` and `sigstore-env: <env>`. @default {} */
  tags: z
    .record(z.string(), z.string({ error: 'expected a tag value (a string)' }))
    .superRefine((tags, context) => {
      for (const [key, value] of Object.entries(tags)) {
        const problem = tagProblem(key, value);
        if (problem) context.addIssue({ code: 'custom', path: [key], message: `expected a valid tag: ${problem}`, input: value });
      }
    })
    .default({}),

  /** The OBS bucket holding the durable state: private, versioned, SSE-KMS with its own key, TLS only. */
  bootstrapBucket: z.strictObject({
    /** Globally unique OBS bucket name (no dots). */
    name: named(obsBucketNameProblem, 'an OBS bucket name'),
    /** Generation of the bucket's symmetric KMS key; its alias is `<namePrefix>-bootstrap-g<generation>`. @default 1 */
    keyGeneration: positiveWhole('a key generation', 999).default(1),
    /** Days a replaced or deleted object version is kept before OBS removes it. @default 365 */
    noncurrentVersionExpirationDays: positiveWhole('a number of days', 36500).default(365),
  }),

  /** CTS: the project's tracker and a notification on KMS key lifecycle events. */
  audit: z
    .strictObject({
      /** Manage the project's (single) CTS tracker; false when another team owns it. @default true */
      manageTracker: z.boolean().default(true),
      /** Prefix of the trace files in the bootstrap bucket. @default cts */
      tracePrefix: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' })
        .default('cts'),
    })
    .prefault({}),

  /** CES alarms and where they notify. Thresholds default to the runbook's. */
  alarms: z
    .strictObject({
      /** SMN subscriptions of the alarm topic. @default [] */
      subscriptions: z.array(subscription).default([]),
      /** The ELB in front of Fulcio and the TSA; without it the two load balancer alarms are not created. @default - none */
      loadBalancerId: uuid('a load balancer id').optional(),
      /** Scope the Fulcio alarm to this listener of the load balancer. @default - the whole load balancer */
      fulcioListenerId: uuid('a listener id').optional(),
      /** Scope the TSA alarm to this listener of the load balancer. @default - the whole load balancer */
      tsaListenerId: uuid('a listener id').optional(),
      /** Fulcio 5xx responses per minute, sustained for 5 minutes. @default 1 */
      fulcioErrorsPerMinute: z
        .number({ error: 'expected a number of errors per minute greater than 0' })
        .positive({ error: 'expected a number of errors per minute greater than 0' })
        .default(1),
      /** TSA response time in milliseconds, sustained for 5 minutes. @default 2000 */
      tsaLatencyMs: positiveWhole('a latency in milliseconds', 600000).default(2000),
    })
    .prefault({}),

  /** Terraform state: a local file (default) or OBS through the S3 backend. */
  stateBackend,
});

export type CloudConfig = z.output<typeof cloudSchema>;

/** Cross-field rules of the cloud section (see crossFieldProblems in schema.ts). */
export function cloudCrossFieldProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  const config = (raw ?? {}) as {
    otc?: { region?: unknown };
    cloud?: { alarms?: { subscriptions?: unknown; loadBalancerId?: unknown; fulcioListenerId?: unknown; tsaListenerId?: unknown } };
    images?: { mirror?: { registry?: unknown } };
  };
  if (config.cloud === undefined) return problems;
  if (config.otc === undefined) {
    problems.push({ path: ['cloud'], message: 'expected an "otc" section (at least region) because a cloud section is set', input: undefined });
  }
  const alarms = config.cloud?.alarms;
  for (const listener of ['fulcioListenerId', 'tsaListenerId'] as const) {
    if (alarms?.[listener] !== undefined && alarms.loadBalancerId === undefined) {
      problems.push({ path: ['cloud', 'alarms', listener], message: 'expected loadBalancerId as well: a listener belongs to a load balancer', input: alarms[listener] });
    }
  }
  const subscriptions = Array.isArray(alarms?.subscriptions) ? (alarms.subscriptions as { name?: unknown }[]) : [];
  const seen = new Set<unknown>();
  subscriptions.forEach((entry, index) => {
    if (typeof entry?.name !== 'string') return;
    if (seen.has(entry.name)) {
      problems.push({ path: ['cloud', 'alarms', 'subscriptions', index, 'name'], message: 'expected subscription names to be unique', input: entry.name });
    }
    seen.add(entry.name);
  });
  const registry = config.images?.mirror?.registry;
  const region = config.otc?.region;
  const registryRegion = typeof registry === 'string' ? swrRegionOfRegistry(registry) : undefined;
  if (registryRegion !== undefined && typeof region === 'string' && registryRegion !== region) {
    problems.push({
      path: ['images', 'mirror', 'registry'],
      message: `expected the SWR registry of otc.region "${region}": the cloud stack creates the mirror repositories in that region`,
      input: registry,
    });
  }
  return problems;
}
