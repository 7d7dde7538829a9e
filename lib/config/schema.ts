import { z } from 'zod';
import { cloudCrossFieldProblems, cloudSchema } from './cloud-schema';
import { clusterHardeningCrossFieldProblems, networkPolicySchema, observabilitySchema, schedulingSchema, treeIdsSchema } from './cluster-hardening-schema';
import { DURATION_HELP, DURATION_PATTERN, durationMs, formatDuration, parseDuration, type Duration } from './duration';

/*
 * The environment file schema (`envs/<env>.yaml`). Every object is strict, so a misspelt field is
 * reported instead of being ignored. Every optional field has a default documented here and in
 * `envs/prd.example.yaml`.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const QUANTITY = /^[1-9][0-9]*(Mi|Gi|Ti)$/;
const KMS_ALIAS = /^[a-zA-Z0-9:/_-]{1,255}$/;

const duration = z
  .string({ error: `expected ${DURATION_HELP}` })
  .regex(DURATION_PATTERN, { error: `expected ${DURATION_HELP}` })
  .transform((text): Duration => parseDuration(text)!);

const namespace = z
  .string({ error: 'expected a Kubernetes namespace name' })
  .regex(DNS_LABEL, { error: 'expected a Kubernetes namespace name: lowercase letters, digits and "-", at most 63 characters' });

const hostname = z
  .string({ error: 'expected a DNS hostname' })
  .regex(HOSTNAME, { error: 'expected a lowercase DNS hostname without scheme, port or path, e.g. "fulcio.example.com"' });

const replicas = z
  .number({ error: 'expected a whole number of replicas from 1 to 20' })
  .int({ error: 'expected a whole number of replicas from 1 to 20' })
  .min(1, { error: 'expected a whole number of replicas from 1 to 20' })
  .max(20, { error: 'expected a whole number of replicas from 1 to 20' });

const quantity = z
  .string({ error: 'expected a storage size such as "5Gi"' })
  .regex(QUANTITY, { error: 'expected a storage size such as "512Mi", "5Gi" or "1Ti"' });

const httpsUrl = z
  .string({ error: 'expected an https URL' })
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.hostname !== '' && !url.search && !url.hash;
    } catch {
      return false;
    }
  }, { error: 'expected an https URL without query or fragment, e.g. "https://token.actions.githubusercontent.com"' });

/** A whole number in [min, max]; every failure says so. */
const wholeNumber = (min: number, max: number, unit: string) => {
  const error = `expected a whole number of ${unit} from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** Hosts for which plain http is accepted: the loopback interface (a local emulator or tunnel). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * An API endpoint: https, or http on the loopback interface only (tests, a local tunnel). No query or
 * fragment, and no path but `optionalPath` (the API paths are absolute).
 */
const apiEndpoint = (example: string, optionalPath?: string) =>
  z.string({ error: 'expected an https URL' }).refine(
    (value) => {
      try {
        const url = new URL(value);
        const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
        const path = url.pathname.replace(/\/+$/, '');
        return schemeOk && url.hostname !== '' && (path === '' || path === optionalPath) && !url.search && !url.hash && !url.username;
      } catch {
        return false;
      }
    },
    {
      error:
        `expected an https URL without ${optionalPath ? `a path other than "${optionalPath}"` : 'path'}, query or fragment, ` +
        `e.g. "${example}" (http only for 127.0.0.1, localhost or [::1])`,
    },
  );

const kmsAlias = z
  .string({ error: 'expected a KMS key alias' })
  .regex(KMS_ALIAS, { error: 'expected a KMS key alias of 1-255 letters, digits, ":", "/", "_" or "-"' })
  .refine((alias) => !alias.endsWith('/default'), { error: 'aliases ending in "/default" are reserved by KMS' });

/** The four top-level TUF roles, in the order clients update them. */
export const TUF_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
export type TufRoleName = (typeof TUF_ROLES)[number];

/** Fulcio OIDC issuer types (sigstore/fulcio pkg/config). */
export const ISSUER_TYPES = [
  'email',
  'github-workflow',
  'gitlab-pipeline',
  'buildkite-job',
  'codefresh-workflow',
  'chainguard-identity',
  'kubernetes',
  'spiffe',
  'uri',
  'username',
  'ci-provider',
] as const;

const oidcIssuer = z.strictObject({
  /** Issuer URL, exactly as it appears in the token's `iss` claim. */
  url: httpsUrl,
  /** Fulcio issuer type. @default email */
  type: z.enum(ISSUER_TYPES).default('email'),
  /** The audience Fulcio expects. @default sigstore */
  clientId: z.string().min(1).default('sigstore'),
  /** For `uri` and `username` issuers: the domain identities must belong to. */
  subjectDomain: hostname.optional(),
  /** For `ci-provider` issuers: the CI provider metadata key, e.g. `github-workflow`. */
  ciProvider: z.string().min(1).optional(),
});

const tenant = z.strictObject({
  /** Tenant name, used only in messages and labels. */
  name: z.string().regex(DNS_LABEL, { error: 'expected a tenant name: lowercase letters, digits and "-"' }),
  /** OIDC issuers this tenant allows; Fulcio trusts the union over all tenants. */
  issuers: z.array(oidcIssuer).min(1, { error: 'expected at least one issuer for the tenant' }),
});

const service = <Extra extends z.ZodRawShape>(extra: Extra) =>
  z.strictObject({
    /** Pod replicas. @default 1 */
    replicas: replicas.default(1),
    /** Public hostname; when absent the service is only reachable in-cluster. @default - none */
    hostname: hostname.optional(),
    ...extra,
  });

export const configSchema = z
  .strictObject({
    /** Organization written into certificate subjects (O=) and trust metadata. */
    organization: z
      .string({ error: 'expected the organization name used in certificate subjects' })
      .min(1, { error: 'expected a non-empty organization name' })
      .max(64, { error: 'expected at most 64 characters (X.520 ub-organization-name)' }),

    /** Who signs the root certificates: `local` (a key in the state directory) or `otc-kms`. @default local */
    signer: z.enum(['local', 'otc-kms']).default('local'),

    /** Open Telekom Cloud account settings; required when `signer` is `otc-kms`. */
    otc: z
      .strictObject({
        /** OTC region. */
        region: z.enum(['eu-de', 'eu-nl', 'eu-ch2']),
        /** IAM project id (32 hex digits). @default - from OS_PROJECT_ID */
        projectId: z
          .string()
          .regex(/^[0-9a-f]{32}$/, { error: 'expected a project id of 32 lowercase hex digits' })
          .optional(),
        /** API endpoints, for private endpoints and tests. @default - regional public endpoints */
        endpoints: z
          .strictObject({
            iam: apiEndpoint('https://iam.eu-de.otc.t-systems.com', '/v3').optional(),
            kms: apiEndpoint('https://kms.eu-de.otc.t-systems.com').optional(),
          })
          .prefault({}),
        /** How IAM and KMS requests are made. */
        requests: z
          .strictObject({
            /** Seconds to wait for one answer before the attempt counts as failed. @default 30 */
            timeoutSeconds: wholeNumber(1, 300, 'seconds').default(30),
            /** Retries after HTTP 429, 5xx, a timeout or a dropped connection, with exponential backoff and jitter. @default 5 */
            maxRetries: wholeNumber(0, 10, 'retries').default(5),
          })
          .prefault({}),
        /** The asymmetric root keys in DEW KMS. */
        kms: z.strictObject({
          /** Alias of the Fulcio root key; put a generation in it (rotation reuses no alias). */
          fulcioRootKeyAlias: kmsAlias,
          /** Alias of the TSA root key. */
          tsaRootKeyAlias: kmsAlias,
          /**
           * Alias of the TUF root key, which signs the TUF repository's root metadata. Must be an
           * EC_P256 key whatever `keySpec` says: tuf-js and go-tuf verify ECDSA TUF signatures with
           * SHA-256 only. Required by `bootstrap` and by `tuf refresh` when the root is due.
           * @default - none
           */
          tufRootKeyAlias: kmsAlias.optional(),
          /** Key spec of the root keys. @default EC_P384 */
          keySpec: z.enum(['EC_P256', 'EC_P384']).default('EC_P384'),
        }),
      })
      .optional(),

    /** Validity periods of the minted certificates. */
    pki: z
      .strictObject({
        fulcio: z
          .strictObject({
            /** @default 10y */
            rootValidity: duration.prefault('10y'),
            /** Clamped to the root's notAfter. @default 5y */
            intermediateValidity: duration.prefault('5y'),
          })
          .prefault({}),
        tsa: z
          .strictObject({
            /** @default 10y */
            rootValidity: duration.prefault('10y'),
            /** Clamped to the root's notAfter. @default 5y */
            intermediateValidity: duration.prefault('5y'),
            /** Clamped to the intermediate's notAfter. @default 2y */
            leafValidity: duration.prefault('2y'),
          })
          .prefault({}),
      })
      .prefault({}),

    /** Kubernetes placement. */
    cluster: z
      .strictObject({
        /** Namespace of every Sigstore component. @default sigstore-system */
        namespace: namespace.default('sigstore-system'),
        /** Namespaces that receive the `sigstore-trust-roots` ConfigMap (e.g. the forge's). @default [] */
        trustRootNamespaces: z.array(namespace).default([]),
        /** Ingress class for the public hostnames. @default nginx */
        ingressClassName: z.string().min(1).default('nginx'),
        /** TLS Secret for the Ingress hosts; without it the Ingress serves plain HTTP. @default - none */
        ingressTlsSecret: z.string().regex(DNS_LABEL).optional(),
      })
      .prefault({}),

    /** Per-component settings. */
    services: z
      .strictObject({
        fulcio: service({}).prefault({}),
        rekor: service({}).prefault({}),
        ctlog: service({
          /** URL path prefix of the log (`/<prefix>/ct/v1/...`). @default sigstore */
          prefix: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected a path prefix of lowercase letters, digits and "-"' }).default('sigstore'),
        }).prefault({}),
        tsa: service({
          /** Poll NTP servers and refuse to timestamp when the clock drifts; off for air-gapped clusters. @default false */
          ntpMonitoring: z.boolean().default(false),
          /** With ntpMonitoring: the NTP servers to ask (a majority must agree) instead of the TSA's public list. @default - the public list */
          ntpServers: z.array(hostname).min(1, { error: 'expected at least one NTP server' }).optional(),
        }).prefault({}),
        tuf: service({}).prefault({}),
        trillian: z
          .strictObject({
            /** @default 1 */
            logServerReplicas: replicas.default(1),
            /** More than one uses Kubernetes Lease election. @default 1 */
            logSignerReplicas: replicas.default(1),
            /** The tree ids createtree wrote (required with logSignerReplicas above 1: the Leases are named after them). @default - none */
            treeIds: treeIdsSchema.optional(),
          })
          .prefault({}),
      })
      .prefault({}),

    /** Trillian's MySQL: in-cluster with a PVC, or external (e.g. OTC RDS). */
    database: z
      .discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('in-cluster'),
          /** @default 5Gi */
          storageSize: quantity.default('5Gi'),
          /** @default - the cluster's default StorageClass */
          storageClassName: z.string().min(1).optional(),
        }),
        z.strictObject({
          kind: z.literal('external'),
          host: z.string().min(1),
          /** @default 3306 */
          port: z.number().int().min(1).max(65535).default(3306),
          /** @default trillian */
          name: z.string().regex(/^[A-Za-z0-9_]{1,64}$/).default('trillian'),
          /** Secret (in `cluster.namespace`) with keys `username` and `password`. */
          credentialsSecret: z.string().regex(DNS_LABEL),
          /** Secret with key `ca.crt` to verify the server's TLS certificate. @default - no TLS */
          tlsCaSecret: z.string().regex(DNS_LABEL).optional(),
        }),
      ], { error: 'expected "kind: in-cluster" or "kind: external"' })
      .prefault({ kind: 'in-cluster' }),

    /** Container images. */
    images: z
      .strictObject({
        /** Mirror registry; images become `<registry>/<organization>/cache-<name>:<tag>@<digest>`. @default - upstream registries */
        mirror: z
          .strictObject({
            registry: hostname,
            organization: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { error: 'expected a registry organization name' }),
          })
          .optional(),
      })
      .prefault({}),

    /** The TUF repository clients bootstrap from: how long each role's metadata is valid, and when `tuf refresh` re-signs it. */
    tuf: z
      .strictObject({
        /** How long newly signed metadata of each role is valid. */
        expiry: z
          .strictObject({
            /** Signed by the TUF root key (KMS): re-signing is a ceremony. @default 1y */
            root: duration.prefault('1y'),
            /** @default 180d */
            targets: duration.prefault('180d'),
            /** @default 60d */
            snapshot: duration.prefault('60d'),
            /** Run `tuf refresh` well within this (weekly, or a daily cron). @default 14d */
            timestamp: duration.prefault('14d'),
          })
          .prefault({}),
        /** `tuf refresh` re-signs a role whose metadata expires within this; `verify` warns from then on. Must be shorter than the role's expiry. */
        refreshBefore: z
          .strictObject({
            /** @default 90d */
            root: duration.prefault('90d'),
            /** @default 60d */
            targets: duration.prefault('60d'),
            /** @default 21d */
            snapshot: duration.prefault('21d'),
            /** @default 10d */
            timestamp: duration.prefault('10d'),
          })
          .prefault({}),
      })
      .superRefine((tuf, context) => {
        // zod still refines when a sibling field failed; compare only durations that parsed.
        const parsed = (value: unknown): value is Duration => typeof value === 'object' && value !== null && 'unit' in value;
        for (const role of TUF_ROLES) {
          const [window, expiry] = [tuf.refreshBefore[role], tuf.expiry[role]];
          if (parsed(window) && parsed(expiry) && durationMs(window) >= durationMs(expiry)) {
            context.addIssue({
              code: 'custom',
              path: ['refreshBefore', role],
              input: formatDuration(window),
              message: `expected a window shorter than tuf.expiry.${role} (${formatDuration(expiry)}); otherwise every refresh re-signs the ${role} role`,
            });
          }
        }
      })
      .prefault({}),

    /** OIDC issuers Fulcio trusts: global ones, and per-tenant allow-lists (Fulcio trusts the union). */
    oidc: z
      .strictObject({
        issuers: z.array(oidcIssuer).default([]),
        tenants: z.array(tenant).default([]),
      })
      .prefault({}),

    /** The OTC cloud stack (cdktf): bootstrap bucket, audit, alarms, mirrors. @default - no cloud stack */
    cloud: cloudSchema.optional(),

    // Cluster hardening (cluster-hardening-schema.ts): network isolation, pod placement, observability.
    /** NetworkPolicies: default deny, then exactly the stack's flows. */
    networkPolicy: networkPolicySchema.prefault({}),
    /** Where pods run: node selector, tolerations, priority class, the zone label to spread over. */
    scheduling: schedulingSchema.prefault({}),
    /** Metrics (ServiceMonitor) and the prober CronJob. */
    observability: observabilitySchema.prefault({}),
  })
  .superRefine((config, context) => {
    for (const problem of crossFieldProblems(config)) context.addIssue({ code: 'custom', ...problem });
  });

/**
 * Rules that span fields. They read the raw file defensively, so they are also reported when other
 * fields are invalid (zod skips refinements of an object that already failed).
 */
export function crossFieldProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  const config = (raw ?? {}) as {
    signer?: unknown;
    otc?: { kms?: { fulcioRootKeyAlias?: unknown; tsaRootKeyAlias?: unknown; tufRootKeyAlias?: unknown } };
    oidc?: { tenants?: unknown };
  };
  if (config.signer === 'otc-kms' && config.otc === undefined) {
    problems.push({
      path: ['otc'],
      message: 'expected an "otc" section (region, kms.fulcioRootKeyAlias, kms.tsaRootKeyAlias) because signer is "otc-kms"',
      input: undefined,
    });
  }
  const kms = config.otc?.kms;
  if (kms && typeof kms.fulcioRootKeyAlias === 'string' && kms.fulcioRootKeyAlias === kms.tsaRootKeyAlias) {
    problems.push({
      path: ['otc', 'kms', 'tsaRootKeyAlias'],
      message: 'expected a different key from fulcioRootKeyAlias: each root needs its own key',
      input: kms.tsaRootKeyAlias,
    });
  }
  if (config.signer === 'otc-kms' && kms && typeof kms === 'object' && kms.tufRootKeyAlias === undefined) {
    problems.push({
      path: ['otc', 'kms', 'tufRootKeyAlias'],
      message: 'expected the alias of the TUF root key (an EC_P256 key) because signer is "otc-kms"',
      input: undefined,
    });
  }
  if (kms && typeof kms.tufRootKeyAlias === 'string' && (kms.tufRootKeyAlias === kms.fulcioRootKeyAlias || kms.tufRootKeyAlias === kms.tsaRootKeyAlias)) {
    problems.push({
      path: ['otc', 'kms', 'tufRootKeyAlias'],
      message: 'expected a different key from fulcioRootKeyAlias and tsaRootKeyAlias: each root needs its own key',
      input: kms.tufRootKeyAlias,
      });
    }
  const tsa = (config as { services?: { tsa?: { ntpMonitoring?: unknown; ntpServers?: unknown } } }).services?.tsa;
  if (tsa && tsa.ntpServers !== undefined && tsa.ntpMonitoring !== true) {
    problems.push({
      path: ['services', 'tsa', 'ntpServers'],
      message: 'expected "ntpMonitoring: true" alongside ntpServers: the servers are only asked when monitoring is on',
      input: tsa.ntpServers,
    });
  }
  const tenants = Array.isArray(config.oidc?.tenants) ? (config.oidc.tenants as { name?: unknown }[]) : [];
  const seen = new Set<unknown>();
  tenants.forEach((tenantConfig, index) => {
    const name = tenantConfig?.name;
    if (typeof name !== 'string') return;
    if (seen.has(name)) {
      problems.push({ path: ['oidc', 'tenants', index, 'name'], message: 'expected tenant names to be unique', input: name });
    }
    seen.add(name);
  });
  problems.push(...cloudCrossFieldProblems(raw));
  problems.push(...clusterHardeningCrossFieldProblems(raw));
  return problems;
}

/** The environment file as written (before defaults). */
export type SigstoreConfigInput = z.input<typeof configSchema>;

/** A validated environment, with defaults applied and its name. */
export type SigstoreConfig = z.output<typeof configSchema> & {
  /** Environment name: the file `envs/<env>.yaml`. */
  readonly env: string;
};

export type OidcIssuerConfig = z.output<typeof oidcIssuer>;
