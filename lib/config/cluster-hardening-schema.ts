import { isIP } from 'node:net';
import * as z from 'zod';

/*
 * The cluster-hardening sections of an environment file (`networkPolicy`, `scheduling`,
 * `observability`): which peers outside the namespace the NetworkPolicies admit, where pods are
 * placed, and what watches them. Every field is documented in envs/prd.example.yaml.
 */

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `prefix/name` or `name`, as Kubernetes accepts label keys. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) return 'has a prefix that is a lowercase DNS subdomain';
  if (!LABEL_NAME.test(name)) return 'has a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

const labelKey = z.string().superRefine((key, context) => {
  const problem = labelKeyProblem(key);
  if (problem) context.addIssue({ code: 'custom', message: `expected a label key that ${problem}`, input: key });
});
const labelValue = z
  .string({ error: 'expected a label value' })
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, { error: 'expected a label value: at most 63 letters, digits, "-", "_" or "."' });
const labels = z.record(labelKey, labelValue, {
  error: (issue) =>
    issue.code === 'invalid_key'
      ? 'expected label keys of the form "name" or "prefix/name": a name of at most 63 letters, digits, "-", "_" or ".", a prefix a lowercase DNS subdomain'
      : undefined,
});

/** An IPv4 or IPv6 address block (`10.0.0.0/8`, `2001:db8::/32`). */
export function cidrProblem(value: string): string | undefined {
  const [address, prefix, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  const bits = Number(prefix);
  if (rest.length > 0 || family === 0 || !/^[0-9]{1,3}$/.test(prefix ?? '') || bits > (family === 4 ? 32 : 128)) {
    return 'is an address block such as "10.0.0.0/8" or "2001:db8::/32"';
  }
  return undefined;
}

const cidr = z.string({ error: 'expected an address block such as "10.0.0.0/8"' }).superRefine((value, context) => {
  const problem = cidrProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: `expected a value that ${problem}`, input: value });
});

const port = z
  .number({ error: 'expected a TCP port from 1 to 65535' })
  .int({ error: 'expected a TCP port from 1 to 65535' })
  .min(1, { error: 'expected a TCP port from 1 to 65535' })
  .max(65535, { error: 'expected a TCP port from 1 to 65535' });

/** Pods of another namespace, selected by labels. */
const peer = z.strictObject({
  /** Labels of the namespace (`kubernetes.io/metadata.name: <name>` selects one namespace by name). */
  namespaceLabels: labels.refine((map) => Object.keys(map).length > 0, { error: 'expected at least one namespace label' }),
  /** Labels of the pods in it. @default {} (every pod of the namespace) */
  podLabels: labels.default({}),
});

const byName = (namespace: string) => ({ namespaceLabels: { 'kubernetes.io/metadata.name': namespace } });

export const networkPolicySchema = z.strictObject({
  /** Render the NetworkPolicies (default deny, then the stack's flows). @default true */
  enabled: z.boolean().default(true),
  /** The ingress controller's pods, admitted to the Services that have a public hostname. @default namespace ingress-nginx */
  ingressController: peer.prefault(byName('ingress-nginx')),
  /** Who may scrape the metrics ports; `false` for nobody. @default namespace monitoring */
  metricsScraper: z.union([z.literal(false), peer]).prefault(byName('monitoring')),
  /** The cluster DNS (UDP and TCP 53). @default namespace kube-system */
  dns: peer.prefault(byName('kube-system')),
  /** The API server's endpoints (`kubectl get endpoints kubernetes -n default`), for the tree Jobs and an elected log signer. */
  apiServer: z
    .strictObject({
      /** @default ["0.0.0.0/0"] */
      cidrs: z.array(cidr).min(1, { error: 'expected at least one address block' }).default(['0.0.0.0/0']),
      /** @default [443, 6443] */
      ports: z.array(port).min(1, { error: 'expected at least one port' }).default([443, 6443]),
    })
    .prefault({}),
  /** Where destinations outside the cluster are (Fulcio's OIDC issuers, an external database named by host, NTP servers). @default ["0.0.0.0/0"] */
  externalCidrs: z.array(cidr).min(1, { error: 'expected at least one address block' }).default(['0.0.0.0/0']),
  /** In-cluster clients of the public services (Fulcio, Rekor, CT log, TSA, TUF) besides the ingress controller. @default [] */
  publicServiceClients: z.array(peer).default([]),
});

const toleration = z.strictObject({
  /** @default - every key (with operator Exists) */
  key: labelKey.optional(),
  /** @default Equal */
  operator: z.enum(['Equal', 'Exists']).default('Equal'),
  value: labelValue.optional(),
  /** @default - every effect */
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

export const schedulingSchema = z.strictObject({
  /** Node labels every pod requires. @default {} */
  nodeSelector: labels.default({}),
  /** Taints every pod tolerates. @default [] */
  tolerations: z.array(toleration).default([]),
  /** PriorityClass of every pod (it must exist). @default - none */
  priorityClassName: z.string().regex(DNS_SUBDOMAIN, { error: 'expected a PriorityClass name (a lowercase DNS subdomain)' }).optional(),
  /** Node label that names the zone replicated servers spread across. @default topology.kubernetes.io/zone */
  zoneTopologyKey: labelKey.default('topology.kubernetes.io/zone'),
});

const promDuration = z.string({ error: 'expected a Prometheus duration in seconds or minutes, e.g. "30s" or "1m"' }).regex(/^[1-9][0-9]*(s|m)$/, { error: 'expected a Prometheus duration in seconds or minutes, e.g. "30s" or "1m"' });

export const observabilitySchema = z.strictObject({
  /** A Prometheus Operator ServiceMonitor for every metrics port (needs the CRD). */
  serviceMonitor: z
    .strictObject({
      /** @default false */
      enabled: z.boolean().default(false),
      /** Scrape interval. @default 30s */
      interval: promDuration.default('30s'),
      /** Labels the Prometheus' serviceMonitorSelector matches (e.g. `release: kube-prometheus-stack`). @default {} */
      labels: labels.default({}),
    })
    .prefault({}),
  /** A CronJob that requests Fulcio's root, a TSA timestamp and Rekor's log info, and fails when one does not answer right. */
  prober: z
    .strictObject({
      /** @default false */
      enabled: z.boolean().default(false),
      /** Cron schedule (five fields). @default every 5 minutes */
      schedule: z
        .string()
        .regex(/^\S+(\s+\S+){4}$/, { error: 'expected a cron schedule of five fields, e.g. "*/5 * * * *"' })
        .default('*/5 * * * *'),
    })
    .prefault({}),
});

/** A Trillian tree id, as createtree writes it: a positive int64, in decimal (quoted in YAML: it exceeds 2^53). */
export const treeId = z
  .string({ error: 'expected a Trillian tree id as a quoted decimal string (YAML numbers lose digits above 2^53)' })
  .regex(/^[1-9][0-9]{0,18}$/, { error: 'expected a Trillian tree id: a positive decimal number' })
  .refine((value) => BigInt(value) <= 2n ** 63n - 1n, { error: 'expected a Trillian tree id below 2^63' });

export const treeIdsSchema = z.strictObject({
  /** `kubectl -n <namespace> get configmap rekor-tree -o jsonpath='{.data.treeID}'` */
  rekor: treeId,
  /** `kubectl -n <namespace> get configmap ctlog-tree -o jsonpath='{.data.treeID}'` */
  ctlog: treeId,
  /**
   * The trees of the later Rekor shards (`rotate rekor-key`), generation 2 first:
   * `kubectl -n <namespace> get configmap rekor-g2-tree -o jsonpath='{.data.treeID}'`. A pinned id is
   * written into its ConfigMap, so a lost ConfigMap never makes createtree start a fresh, empty log.
   * @default []
   */
  rekorShards: z.array(treeId).max(50, { error: 'expected at most 50 shard tree ids' }).default([]),
  /** The trees of the later CT log shards (`rotate ctlog-key`), generation 2 first (ConfigMap `ctlog-g2-tree`). @default [] */
  ctlogShards: z.array(treeId).max(50, { error: 'expected at most 50 shard tree ids' }).default([]),
});

/** Cross-field rules of these sections and of `services.trillian.treeIds` (see crossFieldProblems in schema.ts). */
export function clusterHardeningCrossFieldProblems(raw: unknown): { path: (string | number)[]; message: string; input: unknown }[] {
  const problems: { path: (string | number)[]; message: string; input: unknown }[] = [];
  const sections = raw as { networkPolicy?: { enabled?: unknown; metricsScraper?: unknown }; observability?: { serviceMonitor?: { enabled?: unknown } } } | undefined;
  if (sections?.observability?.serviceMonitor?.enabled === true && sections.networkPolicy?.metricsScraper === false && sections.networkPolicy.enabled !== false) {
    problems.push({
      path: ['networkPolicy', 'metricsScraper'],
      message: 'expected the scraper\'s namespace (and pod labels) because observability.serviceMonitor is enabled: the NetworkPolicies would block its scrapes',
      input: false,
    });
  }
  const trillian = (raw as { services?: { trillian?: { logSignerReplicas?: unknown; treeIds?: unknown } } } | undefined)?.services?.trillian;
  if (trillian && typeof trillian.logSignerReplicas === 'number' && trillian.logSignerReplicas > 1 && trillian.treeIds === undefined) {
    problems.push(
      {
        path: ['services', 'trillian', 'treeIds'],
        message:
          'expected the ids of the Rekor and CT log trees because logSignerReplicas is above 1: the elected signers may only ' +
          'touch the Leases named after them (createtree writes them at the first deployment, which runs one signer: ' +
          '`kubectl get configmap rekor-tree ctlog-tree -o jsonpath=\'{..treeID}\'`)',
        input: undefined,
      },
    );
  }
  return problems;
}
