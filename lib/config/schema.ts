import * as z from 'zod';
import { cloudCrossFieldProblems, cloudSchema } from './cloud-schema';
import { stateCrossFieldProblems, stateSchema } from './state-schema';
import { backupCrossFieldProblems, backupSchema } from './backup-schema';
import { clusterHardeningCrossFieldProblems, networkPolicySchema, observabilitySchema, schedulingSchema, treeIdsSchema } from './cluster-hardening-schema';
import { logsCrossFieldProblems, logsSchema } from './logs-schema';
import { DURATION_HELP, DURATION_PATTERN, durationMs, formatDuration, parseDuration, type Duration } from './duration';
import { BUILT_IN_CI_PROVIDER_NAMES, CI_EXTENSION_NAMES, ciTemplateProblem, type BuiltInCiProvider, type CiExtensionName } from './ci-providers';
import {
  annotationProblem,
  ciProviderProblem,
  ctlogPrefixProblem,
  databaseHostProblem,
  dnsSubdomainProblem,
  domainNameProblem,
  duplicateIndexes,
  endpointTextProblem,
  formatFieldPath,
  issuerUrlProblem,
  metaIssuerUrlProblem,
  mysqlDatabaseNameProblem,
  namespaceProblem,
  ntpServerProblem,
  oidcClientIdProblem,
  organizationProblem,
  publicHostnameProblem,
  REPLICAS_RANGE,
  registryOrganizationProblem,
  secretNameProblem,
  storageQuantityProblem,
  type FieldRule,
} from './field-rules';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_ISSUER_TYPE,
  MAX_DISTINCT_ISSUERS,
  describeIssuer,
  issuerConflicts,
  issuerListings,
  issuerProblems,
  oidcSectionProblems,
} from './oidc-rules';

/*
 * The environment file schema (`envs/<env>.yaml`). Every object is strict, so a misspelt field is
 * reported instead of being ignored. Every optional field has a default documented here and in
 * `envs/prd.example.yaml`.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const KMS_ALIAS = /^[a-zA-Z0-9:/_-]{1,255}$/;
const KMS_KEY_ID = /^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/;

/**
 * A string checked by one of the rules of field-rules.ts (shared with the constructs); `what` is the
 * message for a value that is not a string at all.
 */
const ruled = (rule: FieldRule, what: string) =>
  z.string({ error: `expected ${what}` }).superRefine((value, context) => {
    const problem = rule(value);
    if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
  });

/** True for a parsed Duration (the schema's own output, when a validated configuration is checked again). */
const isDuration = (value: unknown): value is Duration =>
  typeof value === 'object' && value !== null && 'amount' in value && 'unit' in value && Object.keys(value).length === 2;

/** The longest validity period: certificates (GeneralizedTime) and TUF metadata carry four-digit years. */
const MAX_DURATION: Duration = { amount: 100, unit: 'y' };

const duration = z.preprocess(
  (value) => (isDuration(value) ? formatDuration(value) : value),
  z
    .string({ error: `expected ${DURATION_HELP}` })
    .regex(DURATION_PATTERN, { error: `expected ${DURATION_HELP}` })
    .refine((text) => !DURATION_PATTERN.test(text) || durationMs(parseDuration(text)!) <= durationMs(MAX_DURATION), {
      error: `expected a duration of at most ${formatDuration(MAX_DURATION)}: certificates and TUF metadata carry four-digit years`,
    })
    .transform((text): Duration => parseDuration(text)!),
);

const namespace = ruled(namespaceProblem, 'a Kubernetes namespace name');

/** A Service's public hostname: a DNS name, never an IP address (field-rules.ts publicHostnameProblem). */
const publicHostname = ruled(publicHostnameProblem, 'a DNS hostname');

/** A registry host (the image mirror). */
const registryHost = z
  .string({ error: 'expected a DNS hostname' })
  .regex(HOSTNAME, { error: 'expected a lowercase DNS hostname without scheme, port or path, e.g. "swr.eu-de.otc.t-systems.com"' });

const replicasError = `expected a whole number of replicas from ${REPLICAS_RANGE.min} to ${REPLICAS_RANGE.max}`;
const replicas = z
  .number({ error: replicasError })
  .int({ error: replicasError })
  .min(REPLICAS_RANGE.min, { error: replicasError })
  .max(REPLICAS_RANGE.max, { error: replicasError });

const quantity = ruled(storageQuantityProblem, 'a storage size such as "5Gi"');

/** An OIDC issuer URL, exactly the tokens' `iss` (field-rules.ts issuerUrlProblem, with Fulcio's rules). */
const issuerUrl = ruled(issuerUrlProblem, 'an https URL');

const secretName = ruled(secretNameProblem, 'a Secret name');

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
        const textOk = endpointTextProblem(value) === undefined && !value.includes('?') && !value.includes('#');
        return textOk && schemeOk && url.hostname !== '' && (path === '' || path === optionalPath) && !url.username && !url.password;
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

/** Name of a TUF root key kept in the state directory (`signer/<name>.key.pem`). */
const LOCAL_TUF_ROOT_KEY_NAME = /^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$/;
/** The other roots' local keys: a TUF root key must be a key of its own. */
const RESERVED_LOCAL_KEY_NAMES = new Set(['fulcio-root', 'tsa-root']);
const TUF_ROOT_KEY_KINDS = ['kmsAlias', 'kmsKeyId', 'local', 'file'] as const;

/**
 * One TUF root key, each its own Signer: exactly one of `kmsAlias` (a DEW KMS EC_P256 key by alias;
 * `keys ensure` creates it), `kmsKeyId` (an existing KMS key by id), `local` (a P-256 key in the
 * state directory, `signer/<local>.key.pem`, generated on first use; `tuf-root` is the local
 * signer's own TUF root key) or `file` (an offline key: an EC P-256 PEM private key outside the
 * state, e.g. on removable media mounted for the ceremony; encrypted, its password in
 * `<file>.password`; read only when it signs, never copied into the state).
 */
export const tufRootKeySchema = z
  .strictObject({
    kmsAlias: kmsAlias.optional(),
    kmsKeyId: z.string({ error: 'expected a KMS key id' }).regex(KMS_KEY_ID, { error: 'expected a KMS key id such as "0d0466b0-e727-4d9c-b35d-f84bb474a37f"' }).optional(),
    local: z
      .string({ error: 'expected a key name' })
      .regex(LOCAL_TUF_ROOT_KEY_NAME, { error: 'expected a key name of 1-48 lowercase letters, digits and "-" (the key is signer/<name>.key.pem in the state)' })
      .refine((name) => !RESERVED_LOCAL_KEY_NAMES.has(name), { error: 'expected a name other than fulcio-root and tsa-root: those are the other roots\' keys' })
      .optional(),
    file: z
      .string({ error: 'expected a file path' })
      .refine((path) => path.startsWith('/') && path.length <= 1024 && !/[\u0000-\u001f]/.test(path) && !path.split('/').includes('..'), {
        error: 'expected an absolute path (at most 1024 characters, no "..") to an EC P-256 PEM private key, e.g. "/media/tuf-root-c/key.pem"',
      })
      .optional(),
  })
  .superRefine((key, context) => {
    const given = TUF_ROOT_KEY_KINDS.filter((kind) => key[kind] !== undefined);
    if (given.length !== 1) {
      context.addIssue({
        code: 'custom',
        input: given.length === 0 ? key : Object.fromEntries(given.map((kind) => [kind, key[kind]])),
        message: `expected exactly one of kmsAlias, kmsKeyId, local or file${given.length ? ` (found ${given.join(' and ')})` : ''}`,
      });
    }
  });
export type TufRootKeySource = z.output<typeof tufRootKeySchema>;

/** At most this many TUF root keys (and so the highest threshold). */
export const MAX_TUF_ROOT_KEYS = 10;

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
  /** Issuer URL, exactly as it appears in the token's `iss` claim: https, no userinfo, query or fragment. */
  url: issuerUrl,
  /** Fulcio issuer type; "ci-provider" and "spiffe" need settings the chart does not write yet. @default email */
  type: z.enum(ISSUER_TYPES).default(DEFAULT_ISSUER_TYPE),
  /** The audience Fulcio expects. @default sigstore */
  clientId: ruled(oidcClientIdProblem, 'a client id').default(DEFAULT_CLIENT_ID),
  /** For `uri` and `username` issuers (required there): the domain identities must belong to, under the issuer's own domain. */
  subjectDomain: ruled(domainNameProblem, 'a domain name').optional(),
  /** For `ci-provider` issuers: the CI provider metadata key, e.g. `github-workflow`. */
  ciProvider: ruled(ciProviderProblem, 'a CI provider key').optional(),
});

/** A template of a CI provider's certificate extension or SAN (ci-providers.ts ciTemplateProblem: what Fulcio 1.8.8 parses and can fill). */
const ciTemplate = ruled(ciTemplateProblem, 'a claim name or a template');

/**
 * A CI provider's templates (Fulcio's CIIssuerMetadata entry): a built-in to start from, and what to
 * set over it. Extension names are Fulcio's, in camelCase (ci-providers.ts CI_EXTENSION_NAMES).
 */
const ciProviderDeclaration = z
  .strictObject({
    /** A built-in provider to start from (its templates, with this entry's values over them). @default - none */
    template: z.enum(BUILT_IN_CI_PROVIDER_NAMES as [BuiltInCiProvider, ...BuiltInCiProvider[]]).optional(),
    /** Values for claims a token may lack, e.g. `url: https://gitlab.example.com` for a self-hosted GitLab. */
    defaultTemplateValues: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { error: 'expected a claim name: letters, digits and "_"' }),
        z.string().max(1024, { error: 'expected a value of at most 1024 characters' }),
      )
      .optional(),
    /** Certificate extension → claim name or template. */
    extensionTemplates: z.strictObject(Object.fromEntries(Object.keys(CI_EXTENSION_NAMES).map((name) => [name, ciTemplate.optional()])) as Record<CiExtensionName, z.ZodOptional<typeof ciTemplate>>).optional(),
    /** The certificate's SAN (a URI). Required unless `template` gives one. */
    subjectAlternativeNameTemplate: ciTemplate.optional(),
  })
  .refine((declaration) => declaration.template !== undefined || declaration.subjectAlternativeNameTemplate !== undefined, {
    error: 'expected subjectAlternativeNameTemplate (or a template that has one): Fulcio refuses every certificate of a CI provider without a SAN template',
  });

/** Issuer types a meta-issuer may have: spiffe Fulcio refuses for meta-issuers, uri/username need a subject domain the issuer owns, which a wildcard cannot show. */
export const META_ISSUER_TYPES = ISSUER_TYPES.filter((type) => !['spiffe', 'uri', 'username'].includes(type)) as unknown as readonly [
  Exclude<(typeof ISSUER_TYPES)[number], 'spiffe' | 'uri' | 'username'>,
  ...Exclude<(typeof ISSUER_TYPES)[number], 'spiffe' | 'uri' | 'username'>[],
];

/** A Fulcio meta-issuer: a URL with `*` wildcards (field-rules.ts metaIssuerUrlProblem), trusted for every issuer URL it matches. */
const metaIssuer = z.strictObject({
  /** e.g. `https://login.microsoftonline.com/*\/v2.0`; each `*` matches one host label or path segment part ([-_a-zA-Z0-9]+). */
  url: ruled(metaIssuerUrlProblem, 'an https URL with * wildcards'),
  /** @default email */
  type: z.enum(META_ISSUER_TYPES).default(DEFAULT_ISSUER_TYPE),
  /** @default sigstore */
  clientId: ruled(oidcClientIdProblem, 'a client id').default(DEFAULT_CLIENT_ID),
  /** For `ci-provider` meta-issuers: the CI provider key. */
  ciProvider: ruled(ciProviderProblem, 'a CI provider key').optional(),
});

const tenant = z.strictObject({
  /** Tenant name, used only in messages and labels. */
  name: z.string().regex(DNS_LABEL, { error: 'expected a tenant name: lowercase letters, digits and "-"' }),
  /** OIDC issuers this tenant allows; Fulcio trusts the union over all tenants. */
  issuers: z.array(oidcIssuer).min(1, { error: 'expected at least one issuer for the tenant' }),
});

/** Annotations of an Ingress: Kubernetes annotation keys (field-rules.ts annotationProblem) and string values. */
const ingressAnnotations = z
  .record(z.string(), z.string({ error: 'expected a string value (quote numbers and booleans: "true", "8m")' }))
  .superRefine((annotations, context) => {
    for (const [key, value] of Object.entries(annotations)) {
      const problem = annotationProblem(key, value);
      if (problem) context.addIssue({ code: 'custom', path: [key], message: problem, input: value });
    }
  });

const service = <Extra extends z.ZodRawShape>(extra: Extra) =>
  z.strictObject({
    /** Pod replicas. @default 1 */
    replicas: replicas.default(1),
    /** Public hostname; when absent the service is only reachable in-cluster. @default - none */
    hostname: publicHostname.optional(),
    /** TLS Secret of this host's Ingress, instead of `cluster.ingressTlsSecret`. @default - cluster.ingressTlsSecret */
    tlsSecret: secretName.optional(),
    /** Annotations of this host's Ingress, over `cluster.ingressAnnotations`. @default {} */
    ingressAnnotations: ingressAnnotations.optional(),
    ...extra,
  });

export const configSchema = z
  .strictObject({
    /** Organization written into certificate subjects (O=) and trust metadata. */
    organization: ruled(organizationProblem, 'the organization name used in certificate subjects'),

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
            /** OBS (its S3-compatible API), for the remote state (`state.backend: obs`). @default - https://obs.<region>.otc.t-systems.com */
            obs: apiEndpoint('https://obs.eu-de.otc.t-systems.com').optional(),
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
          /**
           * Alias of the symmetric key (AES_256, ENCRYPT_DECRYPT) that wraps the state's data key: the
           * private keys' passwords in the state are sealed under a data key from KMS create-datakey,
           * which only this key decrypts (lib/state/password-envelope.ts). `keys ensure` creates it, and
           * so does the first bootstrap or `state upgrade` that seals a state when it does not exist yet.
           * @default sigstore-<env>-state
           */
          stateKeyAlias: kmsAlias.optional(),
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
        /**
         * How long before an item in use expires `verify` warns (and asks for `sigstore-cdk rotate <item>`).
         * Past its notAfter, or when it expires before the TUF timestamp does, `verify` fails (exit 5).
         */
        renewBefore: z
          .strictObject({
            /** A new root is a KMS ceremony plus a trust roll-out: start a year ahead. @default 1y */
            fulcioRoot: duration.prefault('1y'),
            /** @default 180d */
            fulcioIntermediate: duration.prefault('180d'),
            /** @default 1y */
            tsaRoot: duration.prefault('1y'),
            /** @default 180d */
            tsaIntermediate: duration.prefault('180d'),
            /** The common yearly renewal (`rotate tsa-leaf`). @default 90d */
            tsaLeaf: duration.prefault('90d'),
            /** For a log key whose trusted_root.json entry has an end (a frozen shard's successor is due). @default 30d */
            ctlogKey: duration.prefault('30d'),
            /** @default 30d */
            rekorKey: duration.prefault('30d'),
          })
          .prefault({}),
      })
      .prefault({}),

    /** Kubernetes placement. */
    cluster: z
      .strictObject({
        /** Namespace of every Sigstore component. @default sigstore-system */
        namespace: namespace.default('sigstore-system'),
        /** Namespaces that receive the `sigstore-trust-roots` ConfigMap (e.g. the forge's), each once. @default [] */
        trustRootNamespaces: z.array(namespace).default([]),
        /** Ingress class for the public hostnames (a DNS-1123 subdomain name). @default nginx */
        ingressClassName: ruled(dnsSubdomainProblem, 'an IngressClass name').default('nginx'),
        /** TLS Secret for every Ingress host (one certificate for all, e.g. a wildcard); `services.<name>.tlsSecret` overrides it per host. @default - none */
        ingressTlsSecret: secretName.optional(),
        /** Annotations of every Ingress, e.g. `cert-manager.io/cluster-issuer`, `nginx.ingress.kubernetes.io/proxy-body-size`. @default {} */
        ingressAnnotations: ingressAnnotations.default({}),
        /**
         * TLS ends before the Ingress (a load balancer with the certificates): no warning for hosts
         * without a TLS Secret, whose published URLs say https. @default false
         */
        tlsTerminatedUpstream: z.boolean().default(false),
      })
      .prefault({}),

    /** Per-component settings. */
    services: z
      .strictObject({
        fulcio: service({
          /** Public hostname of Fulcio's gRPC API (port 5554); needs TLS at the Ingress (HTTP/2). @default - no gRPC Ingress */
          grpcHostname: publicHostname.optional(),
          /** TLS Secret of the gRPC host. @default - services.fulcio.tlsSecret, else cluster.ingressTlsSecret */
          grpcTlsSecret: secretName.optional(),
        }).prefault({}),
        rekor: service({}).prefault({}),
        ctlog: service({
          /** URL path prefix of the log (`/<prefix>/ct/v1/...`). @default sigstore */
          prefix: ruled(ctlogPrefixProblem, 'a path prefix').default('sigstore'),
        }).prefault({}),
        tsa: service({
          /** Poll NTP servers and refuse to timestamp when the clock drifts; off for air-gapped clusters. @default false */
          ntpMonitoring: z.boolean().default(false),
          /** With ntpMonitoring: the NTP servers to ask (a majority must agree) instead of the TSA's public list. @default - the public list */
          ntpServers: z
            .array(ruled(ntpServerProblem, 'an NTP server host name'))
            .min(1, { error: 'expected at least one NTP server' })
            .max(16, { error: 'expected at most 16 NTP servers' })
            .optional(),
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

    /** Which server runs each transparency log: Rekor v1 or v2 (tiles), ct_server or TesseraCT (logs-schema.ts). @default v1, trillian */
    logs: logsSchema.prefault({}),

    /** Trillian's MySQL: in-cluster with a PVC, or external (e.g. OTC RDS). Unused when no log runs on Trillian. */
    database: z
      .discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('in-cluster'),
          /** @default 5Gi */
          storageSize: quantity.default('5Gi'),
          /** @default - the cluster's default StorageClass */
          storageClassName: ruled(dnsSubdomainProblem, 'a StorageClass name').optional(),
        }),
        z.strictObject({
          kind: z.literal('external'),
          /** Host name or IPv4 address of the server, without port. */
          host: ruled(databaseHostProblem, 'a host name or IPv4 address'),
          /** @default 3306 */
          port: z
            .number({ error: 'expected a TCP port from 1 to 65535' })
            .int({ error: 'expected a TCP port from 1 to 65535' })
            .min(1, { error: 'expected a TCP port from 1 to 65535' })
            .max(65535, { error: 'expected a TCP port from 1 to 65535' })
            .default(3306),
          /** @default trillian */
          name: ruled(mysqlDatabaseNameProblem, 'a MySQL database name').default('trillian'),
          /** Secret (in `cluster.namespace`) with keys `username` and `password`. */
          credentialsSecret: secretName,
          /** Secret with key `ca.crt` to verify the server's TLS certificate. @default - no TLS */
          tlsCaSecret: secretName.optional(),
        }),
      ], { error: 'expected "kind: in-cluster" or "kind: external"' })
      .prefault({ kind: 'in-cluster' }),

    /** Container images. */
    images: z
      .strictObject({
        /** Secrets (kubernetes.io/dockerconfigjson, in cluster.namespace) every pod pulls with, e.g. for private SWR repositories. @default [] */
        pullSecrets: z.array(secretName).max(8, { error: 'expected at most 8 pull secrets' }).default([]),
        /** Mirror registry; images become `<registry>/<organization>/cache-<name>:<tag>@<digest>`. @default - upstream registries */
        mirror: z
          .strictObject({
            registry: registryHost,
            organization: ruled(registryOrganizationProblem, 'a registry organization name'),
          })
          .optional(),
      })
      .prefault({}),

    /** The TUF repository clients bootstrap from: how long each role's metadata is valid, and when `tuf refresh` re-signs it. */
    tuf: z
      .strictObject({
        /**
         * The root role: its keys and threshold. Changing them takes effect with
         * `sigstore-cdk rotate tuf-root`, which signs the next root version with the old keys and the new.
         */
        root: z
          .strictObject({
            /** Signatures of `keys` each root version needs (1 to the number of keys). @default 1 */
            threshold: wholeNumber(1, MAX_TUF_ROOT_KEYS, 'signatures').default(1),
            /**
             * The root keys, each its own signer.
             * @default - one key: the signer's TUF root key (`local: tuf-root` with the local signer,
             * `kmsAlias: <otc.kms.tufRootKeyAlias>` with otc-kms)
             */
            keys: z.array(tufRootKeySchema).min(1, { error: 'expected at least one root key' }).max(MAX_TUF_ROOT_KEYS, { error: `expected at most ${MAX_TUF_ROOT_KEYS} root keys` }).optional(),
          })
          .prefault({}),
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
        const keyCount = tuf.root.keys?.length ?? 1;
        if (tuf.root.threshold > keyCount) {
          context.addIssue({
            code: 'custom',
            path: ['root', 'threshold'],
            input: tuf.root.threshold,
            message: `expected at most ${keyCount}, the number of tuf.root.keys${tuf.root.keys ? '' : ' (one by default: the signer\'s TUF root key)'}`,
          });
        }
        const seen = new Map<string, number>();
        (tuf.root.keys ?? []).forEach((key, index) => {
          const kind = TUF_ROOT_KEY_KINDS.find((name) => key[name] !== undefined);
          if (!kind) return;
          const identity = `${kind}:${key[kind]}`;
          if (seen.has(identity)) {
            context.addIssue({ code: 'custom', path: ['root', 'keys', index, kind], input: key[kind], message: `expected each root key once (also tuf.root.keys[${seen.get(identity)}])` });
          }
          seen.set(identity, index);
        });
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
        /** Meta-issuers (wildcard URLs, Fulcio's MetaIssuers); they trust every issuer they match, so prefer exact URLs. @default - none */
        metaIssuers: z.array(metaIssuer).default([]),
        /** CI providers' templates by key (Fulcio's CIIssuerMetadata), besides the built-in github-actions and gitlab-ci. @default - none */
        ciProviders: z.record(ruled(ciProviderProblem, 'a CI provider key'), ciProviderDeclaration).default({}),
      })
      .prefault({}),

    /** The OTC cloud stack (cdktf): bootstrap bucket, audit, alarms, mirrors. @default - no cloud stack */
    cloud: cloudSchema.optional(),

    /** Where the state lives: `local` (`.sigstore/<env>/` only) or `obs` (the bucket; `.sigstore/` is a working copy). @default { backend: local } */
    state: stateSchema.default({ backend: 'local' }),

    /** Backups: the MySQL dumps to OBS, and whether Rekor's Redis index is kept on a volume or rebuilt. */
    backup: backupSchema.prefault({}),

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
  const stateKeyAlias = (kms as { stateKeyAlias?: unknown } | undefined)?.stateKeyAlias;
  if (kms && typeof stateKeyAlias === 'string' && [kms.fulcioRootKeyAlias, kms.tsaRootKeyAlias, kms.tufRootKeyAlias].includes(stateKeyAlias)) {
    problems.push({
      path: ['otc', 'kms', 'stateKeyAlias'],
      message: 'expected a key of its own (a symmetric AES_256 key), not one of the root keys fulcioRootKeyAlias, tsaRootKeyAlias or tufRootKeyAlias',
      input: stateKeyAlias,
    });
  }
  if (kms && typeof kms.tufRootKeyAlias === 'string' && (kms.tufRootKeyAlias === kms.fulcioRootKeyAlias || kms.tufRootKeyAlias === kms.tsaRootKeyAlias)) {
    problems.push({
      path: ['otc', 'kms', 'tufRootKeyAlias'],
      message: 'expected a different key from fulcioRootKeyAlias and tsaRootKeyAlias: each root needs its own key',
      input: kms.tufRootKeyAlias,
      });
    }
  const tufRootKeys = (config as { tuf?: { root?: { keys?: unknown } } }).tuf?.root?.keys;
  if (Array.isArray(tufRootKeys) && config.signer !== 'otc-kms') {
    tufRootKeys.forEach((key: unknown, index) => {
      for (const kind of ['kmsAlias', 'kmsKeyId'] as const) {
        const value = (key as Record<string, unknown> | null)?.[kind];
        if (value === undefined) continue;
        problems.push({
          path: ['tuf', 'root', 'keys', index, kind],
          message: 'expected "local" or "file" keys only, because signer is not "otc-kms" (KMS root keys need the otc section and signer: otc-kms)',
          input: value,
        });
      }
    });
  }
  if (Array.isArray(tufRootKeys) && kms) {
    tufRootKeys.forEach((key: unknown, index) => {
      const alias = (key as Record<string, unknown> | null)?.kmsAlias;
      if (typeof alias === 'string' && (alias === kms.fulcioRootKeyAlias || alias === kms.tsaRootKeyAlias)) {
        problems.push({
          path: ['tuf', 'root', 'keys', index, 'kmsAlias'],
          message: 'expected a different key from fulcioRootKeyAlias and tsaRootKeyAlias: each root needs its own key',
          input: alias,
        });
      }
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
  problems.push(...deploymentProblems(raw));
  problems.push(...cloudCrossFieldProblems(raw));
  problems.push(...stateCrossFieldProblems(raw));
  problems.push(...backupCrossFieldProblems(raw));
  problems.push(...clusterHardeningCrossFieldProblems(raw));
  problems.push(...logsCrossFieldProblems(raw));
  return problems;
}

/** The public services, in the order their hostnames are compared. */
const PUBLIC_SERVICES = ['fulcio', 'rekor', 'ctlog', 'tsa', 'tuf'] as const;

/**
 * Rules the cluster chart and Fulcio would otherwise only apply after the state was minted: each
 * namespace, NTP server and public hostname once, and the OIDC issuers as Fulcio 1.8.8 accepts them
 * (oidc-rules.ts, shared with lib/k8s/fulcio-config.ts). Reads the raw file defensively.
 */
function deploymentProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  const config = (raw ?? {}) as {
    cluster?: { trustRootNamespaces?: unknown; ingressTlsSecret?: unknown; tlsTerminatedUpstream?: unknown };
    services?: Record<string, { hostname?: unknown; ntpServers?: unknown } | undefined>;
    oidc?: unknown;
  };
  const eachOnce = (list: unknown, path: (string | number)[], what: string) => {
    if (!Array.isArray(list)) return;
    for (const { index, first } of duplicateIndexes(list)) {
      problems.push({ path: [...path, index], message: `expected each ${what} once (already listed as ${formatFieldPath([...path, first])})`, input: list[index] });
    }
  };
  eachOnce(config.cluster?.trustRootNamespaces, ['cluster', 'trustRootNamespaces'], 'namespace');
  eachOnce(config.services?.tsa?.ntpServers, ['services', 'tsa', 'ntpServers'], 'server');

  const hostnameOwner = new Map<unknown, string>();
  const hostFields: [string, string][] = [...PUBLIC_SERVICES.map((service): [string, string] => [service, 'hostname']), ['fulcio', 'grpcHostname']];
  for (const [service, field] of hostFields) {
    const hostname = (config.services?.[service] as Record<string, unknown> | undefined)?.[field];
    if (typeof hostname !== 'string') continue;
    const owner = hostnameOwner.get(hostname);
    if (owner) {
      problems.push({
        path: ['services', service, field],
        message: `expected a hostname of its own: ${owner} is already "${hostname}" (an Ingress host routes to one Service, and clients tell the services apart by URL)`,
        input: hostname,
      });
    } else hostnameOwner.set(hostname, `services.${service}.${field}`);
  }
  // gRPC needs HTTP/2, which ingress controllers speak to clients over TLS only.
  const fulcio = (config.services?.fulcio ?? {}) as { grpcHostname?: unknown; grpcTlsSecret?: unknown; tlsSecret?: unknown };
  const cluster = (config.cluster ?? {}) as { ingressTlsSecret?: unknown; tlsTerminatedUpstream?: unknown };
  if (typeof fulcio.grpcHostname === 'string' && fulcio.grpcTlsSecret === undefined && fulcio.tlsSecret === undefined && cluster.ingressTlsSecret === undefined && cluster.tlsTerminatedUpstream !== true) {
    problems.push({
      path: ['services', 'fulcio', 'grpcHostname'],
      message: 'expected a TLS Secret for the gRPC host (services.fulcio.grpcTlsSecret, services.fulcio.tlsSecret or cluster.ingressTlsSecret): gRPC needs HTTP/2, which an Ingress serves over TLS only',
      input: fulcio.grpcHostname,
    });
  }

  const listings = issuerListings(config.oidc);
  problems.push(...oidcSectionProblems(config.oidc));
  for (const listing of listings) {
    for (const problem of issuerProblems(listing.issuer)) problems.push({ path: [...listing.path, problem.field], message: problem.message, input: problem.input });
  }
  for (const conflict of issuerConflicts(listings)) {
    problems.push({
      path: [...conflict.second.path],
      message:
        `expected the same settings as ${formatFieldPath(conflict.first.path)} for ${conflict.url} (${describeIssuer(conflict.first.issuer)}), ` +
        `not ${describeIssuer(conflict.second.issuer)}: Fulcio has one entry per issuer URL`,
      input: conflict.url,
    });
  }
  const seen = new Set<unknown>();
  for (const listing of listings) {
    if (typeof listing.issuer.url !== 'string' || seen.has(listing.issuer.url)) continue;
    seen.add(listing.issuer.url);
    if (seen.size === MAX_DISTINCT_ISSUERS + 1) {
      problems.push({
        path: [...listing.path, 'url'],
        message: `expected at most ${MAX_DISTINCT_ISSUERS} distinct issuer URLs over oidc.issuers and the tenants; this is one more`,
        input: listing.issuer.url,
      });
    }
  }
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
export type MetaIssuerConfig = z.output<typeof metaIssuer>;
