import * as z from 'zod';
import { dnsSubdomainProblem, storageQuantityProblem } from './field-rules';

/*
 * The `logs` section of an environment file: which implementation runs each transparency log.
 *
 * - `rekor: v1` (default) is Rekor v1 (rekor-server) on Trillian + MySQL, with Redis as its index;
 *   `rekor: v2` is Rekor v2 (sigstore/rekor-tiles), a tile-based log on Trillian-Tessera's POSIX
 *   backend: its tiles and checkpoints on a PersistentVolumeClaim, no Trillian, MySQL or Redis.
 * - `ct: trillian` (default) is ct_server on Trillian; `ct: tesseract` is TesseraCT
 *   (transparency-dev/tesseract, static-ct-api), POSIX backend on a PersistentVolumeClaim.
 *
 * With both on tiles, the chart deploys no Trillian, MySQL or Redis at all. Documented in
 * envs/prd.example.yaml and envs/tiles.example.yaml.
 */

/** Rekor's major API version: which server runs the signature transparency log. */
export const REKOR_API_VERSIONS = ['v1', 'v2'] as const;
export type RekorApiVersion = (typeof REKOR_API_VERSIONS)[number];

/** Which server runs the certificate transparency log. */
export const CT_LOG_KINDS = ['trillian', 'tesseract'] as const;
export type CtLogKind = (typeof CT_LOG_KINDS)[number];

const quantity = z.string({ error: 'expected a storage size such as "10Gi"' }).superRefine((value, context) => {
  const problem = storageQuantityProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
});
const storageClassName = z.string({ error: 'expected a StorageClass name' }).superRefine((value, context) => {
  const problem = dnsSubdomainProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
});

/** The volume a tile-based log keeps its tiles, checkpoints and antispam index on. */
const tileStorage = z.strictObject({
  /** Size of the PersistentVolumeClaim (ReadWriteOnce). @default 10Gi */
  size: quantity.default('10Gi'),
  /** @default - the cluster's default StorageClass */
  storageClassName: storageClassName.optional(),
});

export const logsSchema = z.strictObject({
  /** `v1`: Rekor v1 on Trillian (and Redis); `v2`: Rekor v2 (rekor-tiles, POSIX). v2 needs the TSA (it has no integrated time). @default v1 */
  rekor: z.enum(REKOR_API_VERSIONS, { error: 'expected "v1" (Rekor v1 on Trillian) or "v2" (Rekor v2, rekor-tiles)' }).default('v1'),
  /** `trillian`: ct_server on Trillian; `tesseract`: TesseraCT (POSIX). @default trillian */
  ct: z.enum(CT_LOG_KINDS, { error: 'expected "trillian" (ct_server on Trillian) or "tesseract" (TesseraCT)' }).default('trillian'),
  /** Rekor v2's volume (only with `rekor: v2`). */
  rekorStorage: tileStorage.prefault({}),
  /** TesseraCT's volume (only with `ct: tesseract`). */
  ctStorage: tileStorage.prefault({}),
});

export type LogsConfig = z.output<typeof logsSchema>;

/** The log choice of a configuration that may predate the `logs` section (defaults: v1, trillian). */
export function logChoice(config: { logs?: Partial<Pick<LogsConfig, 'rekor' | 'ct'>> }): { rekor: RekorApiVersion; ct: CtLogKind } {
  return { rekor: config.logs?.rekor ?? 'v1', ct: config.logs?.ct ?? 'trillian' };
}

/** Whether the environment runs Trillian (and its MySQL) at all: only when a log still uses it. */
export function usesTrillian(config: { logs?: Partial<Pick<LogsConfig, 'rekor' | 'ct'>> }): boolean {
  const logs = logChoice(config);
  return logs.rekor === 'v1' || logs.ct === 'trillian';
}

type Problem = { path: (string | number)[]; message: string; input: unknown };

/**
 * Rules that tie the log choice to other fields. Reads the raw file defensively (reported even when
 * other fields are invalid):
 * - Rekor v2 has no integrated timestamp, so a signature verifies only with an RFC 3161 timestamp
 *   (sigstore-js `timestampThreshold` 1): the TSA is mandatory. It is always deployed; when Rekor
 *   has a public hostname, clients outside the cluster sign through it, so the TSA needs one too.
 * - The POSIX backends are single writers on a ReadWriteOnce volume: one replica.
 * - With both logs on tiles no log writes to Trillian: one log signer at most.
 */
export function logsCrossFieldProblems(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const config = (raw ?? {}) as {
    logs?: { rekor?: unknown; ct?: unknown };
    services?: { rekor?: { hostname?: unknown; replicas?: unknown }; ctlog?: { replicas?: unknown }; tsa?: { hostname?: unknown }; trillian?: { treeIds?: unknown; logSignerReplicas?: unknown } };
  };
  const rekorV2 = config.logs?.rekor === 'v2';
  const tesseract = config.logs?.ct === 'tesseract';
  const services = config.services;
  if (rekorV2 && typeof services?.rekor?.hostname === 'string' && services.tsa?.hostname === undefined) {
    problems.push({
      path: ['services', 'tsa', 'hostname'],
      message:
        'expected a public hostname for the TSA because logs.rekor is "v2" and services.rekor.hostname is set: Rekor v2 has no ' +
        'integrated timestamp, so signatures made through the public Rekor verify only with a timestamp from a TSA clients can reach',
      input: undefined,
    });
  }
  const singleWriter = (service: 'rekor' | 'ctlog', field: string, what: string) => {
    const replicas = services?.[service]?.replicas;
    if (typeof replicas === 'number' && replicas !== 1) {
      problems.push({
        path: ['services', service, 'replicas'],
        message: `expected 1 because ${field}: ${what} appends to a POSIX volume (ReadWriteOnce) as the log's single writer`,
        input: replicas,
      });
    }
  };
  if (rekorV2) singleWriter('rekor', 'logs.rekor is "v2"', 'Rekor v2');
  if (tesseract) singleWriter('ctlog', 'logs.ct is "tesseract"', 'TesseraCT');
  // `treeIds` stay allowed: an environment that migrated both logs (rotate rekor-log, ct-log) keeps
  // its Trillian-backed logs read-only, their trees pinned; without a migration they are unused.
  if (rekorV2 && tesseract) {
    const value = services?.trillian?.logSignerReplicas;
    if (value !== undefined && value !== 1) {
      problems.push({
        path: ['services', 'trillian', 'logSignerReplicas'],
        message: 'expected 1: with logs.rekor "v2" and logs.ct "tesseract" no log writes to Trillian (at most the read-only logs a migration kept)',
        input: value,
      });
    }
  }
  return problems;
}
