import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES, imageReference } from '../../lib/config/images';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { SECRET_ARGV_EXCEPTIONS } from '../../lib/k8s/server-inputs';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { withTileLogKeys } from '../helpers/tile-log-fixture';
import { chartInput, find, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';
import { schemaErrors, unknownFieldChecker, type KubeObject, type UnknownFieldChecker } from './kubernetes-schema';
import { addressProblems, imageProblems, referenceProblems, secretArgvReferences, securityProblems, selectorProblems } from './manifest-checks';
import { flowDifferences } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * The cluster side of a log migration (rotate rekor-log | ct-log): during the overlap both servers
 * run side by side on the same public host (the tile-based log under its own name and path); from
 * the cut-over the old log's tree is frozen and Fulcio submits to TesseraCT; the old server stays.
 */

const CUT_OVER = new Date('2026-06-20T00:00:00Z');
const OLD_END = new Date('2026-06-21T00:00:00Z');
const TREE_IDS = 'trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }';
const HOSTS = `
  fulcio: { hostname: fulcio.example.com }
  rekor: { hostname: rekor.example.com }
  ctlog: { hostname: ctlog.example.com, prefix: forge }
  tsa: { hostname: tsa.example.com }
  tuf: { hostname: tuf.example.com }
  ${TREE_IDS}`;
const REKOR_MIGRATION = `logs: { rekor: v2 }\nservices:${HOSTS}\n`;
const CT_MIGRATION = `logs: { ct: tesseract }\nservices:${HOSTS}\n`;
const BOTH_IN_CLUSTER = `logs: { rekor: v2, ct: tesseract }\nservices:\n  ${TREE_IDS}\n`;

let directory: string;
let fixture: PkiMaterial;
let unknownFields: UnknownFieldChecker;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-log-migration-'));
  fixture = withTileLogKeys(await fixtureMaterial(directory));
  unknownFields = unknownFieldChecker();
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The fixture material with the migrations recorded, seen before or after the cut-over. */
function migrated(logs: ('rekor' | 'ctlog')[], cutOverReached: boolean): PkiMaterial {
  const migration = { activeFrom: CUT_OVER, previousValidUntil: OLD_END, cutOverReached };
  return { ...fixture, logMigrations: Object.fromEntries(logs.map((log) => [log, migration])) };
}

const names = (objects: readonly KubeObject[], kind: string) => objects.filter((object) => object.kind === kind).map((object) => object.metadata.name).sort();
const args = (cluster: SynthesizedCluster, deployment: string): string[] => find(cluster.public, 'Deployment', deployment).spec.template.spec.containers[0].args;
const ingressPaths = (cluster: SynthesizedCluster, name: string) =>
  find(cluster.public, 'Ingress', name).spec.rules.flatMap((rule: any) =>
    rule.http.paths.map((path: any) => ({ host: rule.host, path: path.path, pathType: path.pathType, service: path.backend.service.name, port: path.backend.service.port.number })),
  );

const CASES: [string, string, ('rekor' | 'ctlog')[], boolean][] = [
  ['Rekor v1 -> v2, during the overlap (before the cut-over)', REKOR_MIGRATION, ['rekor'], false],
  ['Rekor v1 -> v2, after the cut-over', REKOR_MIGRATION, ['rekor'], true],
  ['ct_server -> TesseraCT, before the cut-over', CT_MIGRATION, ['ctlog'], false],
  ['ct_server -> TesseraCT, after the cut-over', CT_MIGRATION, ['ctlog'], true],
  ['both, in-cluster names only, after the cut-over', BOTH_IN_CLUSTER, ['rekor', 'ctlog'], true],
];

describe.each(CASES)('log migration manifests: %s', (_name, yaml, logs, cutOverReached) => {
  let cluster: SynthesizedCluster;
  let all: KubeObject[];
  beforeAll(() => {
    cluster = synthesizeCluster(chartInput(migrated(logs, cutOverReached), yaml));
    all = [...cluster.public, ...cluster.secrets];
  });

  it('snapshot of the objects of both logs (and Fulcio, which submits to one of them)', () => {
    // The rest of the manifest is the same as without a migration (test/k8s/tile-logs.test.ts, sigstore-chart.test.ts).
    const ofTheLogs = cluster.public.filter(
      (object) => object.kind !== 'NetworkPolicy' && (/^(rekor|ctlog)/.test(object.metadata.name) || object.kind === 'Ingress' || (object.kind === 'Deployment' && object.metadata.name === 'fulcio')),
    );
    expect(ofTheLogs).toMatchSnapshot();
  });

  it('both servers of each migrated log are deployed, each with its own Service', () => {
    if (logs.includes('rekor')) {
      expect(names(cluster.public, 'Deployment')).toEqual(expect.arrayContaining(['rekor', 'rekor-redis', 'rekor-tiles', 'trillian-log-server', 'trillian-log-signer']));
      expect(names(cluster.public, 'Service')).toEqual(expect.arrayContaining(['rekor', 'rekor-tiles']));
      expect(find(cluster.public, 'Deployment', 'rekor').spec.template.spec.containers.find((c: any) => c.name === 'rekor-server').image).toBe(imageReference(IMAGES.rekor));
      expect(find(cluster.public, 'Deployment', 'rekor-tiles').spec.template.spec.containers[0].image).toBe(imageReference(IMAGES.rekorTilesPosix));
    }
    if (logs.includes('ctlog')) {
      expect(names(cluster.public, 'Deployment')).toEqual(expect.arrayContaining(['ctlog', 'ctlog-tiles']));
      expect(find(cluster.public, 'Deployment', 'ctlog').spec.template.spec.containers.find((c: any) => c.name === 'ct-server').image).toBe(imageReference(IMAGES.ctServer));
      expect(find(cluster.public, 'Deployment', 'ctlog-tiles').spec.template.spec.containers[0].image).toBe(imageReference(IMAGES.tesseractPosix));
    }
  });

  it('turns the old server read-only only from the cut-over: Rekor v1 without createLogEntry, ct_server is_readonly', () => {
    if (logs.includes('rekor')) {
      const rekorArgs: string[] = find(cluster.public, 'Deployment', 'rekor').spec.template.spec.containers.find((c: any) => c.name === 'rekor-server').args;
      const endpoints = rekorArgs.find((arg) => arg.startsWith('--enabled_api_endpoints='));
      if (cutOverReached) {
        expect(endpoints).toBe('--enabled_api_endpoints=searchIndex,getLogInfo,getPublicKey,getLogProof,getLogEntryByIndex,getLogEntryByUUID,searchLogQuery');
        expect(endpoints).not.toContain('createLogEntry');
      } else {
        expect(endpoints).toBeUndefined();
      }
    }
    if (logs.includes('ctlog')) {
      const template: string = find(cluster.public, 'ConfigMap', 'ctlog-config').data['ct_server.cfg.template'];
      expect((template.match(/is_readonly: true/g) ?? []).length).toBe(cutOverReached ? 1 : 0);
    }
  });

  it('freezes the old log tree only from the cut-over (it stays deployed, read-only)', () => {
    const freezeJobs = names(cluster.public, 'Job').filter((name) => name.endsWith('-freeze'));
    const expected = cutOverReached ? logs.map((log) => `${log}-freeze`).sort() : [];
    expect(freezeJobs).toEqual(expected);
    for (const job of expected) {
      const treeId = job.startsWith('rekor') ? '1234567890123456789' : '987654321098765432';
      expect(JSON.stringify(find(cluster.public, 'Job', job).spec)).toContain(treeId);
    }
  });

  it('validates against the Kubernetes schemas; references, selectors, addresses, images, pod security and network flows hold', () => {
    expect(all.flatMap(schemaErrors)).toEqual([]);
    expect(all.flatMap((object) => unknownFields.unknownFields(object).map((path) => `${object.kind}/${object.metadata.name}: ${path}`))).toEqual([]);
    expect(referenceProblems(all)).toEqual([]);
    expect(selectorProblems(all)).toEqual([]);
    expect(addressProblems(all)).toEqual([]);
    expect(imageProblems(all, new Set(Object.values(IMAGES).map((image) => imageReference(image))))).toEqual([]);
    expect(securityProblems(all)).toEqual([]);
    expect(flowDifferences(cluster.public, fixtureConfig(yaml).networkPolicy)).toEqual({ missing: [], extra: [] });
    const workloads = new Set(all.filter((object) => object.kind === 'Deployment' || object.kind === 'Job').map((object) => object.metadata.name));
    const exceptions = SECRET_ARGV_EXCEPTIONS.filter((exception) => workloads.has(exception.workload)).map(({ workload, container, flag, variables }) => ({ workload, container, flag, variables }));
    expect(secretArgvReferences(all)).toEqual(exceptions);
  });
});

describe('log migration: names, routes and Fulcio', () => {
  it('Rekor: one host, / to Rekor v1 and /api/v2 to rekor-tiles, whose origin is the public hostname', () => {
    const cluster = synthesizeCluster(chartInput(migrated(['rekor'], false), REKOR_MIGRATION));
    expect(ingressPaths(cluster, 'rekor')).toEqual([
      { host: 'rekor.example.com', path: '/', pathType: 'Prefix', service: 'rekor', port: 80 },
      { host: 'rekor.example.com', path: '/api/v2', pathType: 'Prefix', service: 'rekor-tiles', port: 80 },
    ]);
    expect(args(cluster, 'rekor-tiles')).toContain('--hostname=rekor.example.com');
    expect(names(cluster.secrets, 'Secret')).toEqual(expect.arrayContaining(['rekor-signer', 'rekor-tiles-signer']));
    expect(names(cluster.public, 'PersistentVolumeClaim')).toContain('rekor-tiles-storage');
  });

  it('CT: TesseraCT under <prefix>-tiles on the same host; Fulcio submits to ct_server until the cut-over and to TesseraCT from it', () => {
    const before = synthesizeCluster(chartInput(migrated(['ctlog'], false), CT_MIGRATION));
    expect(ingressPaths(before, 'ctlog')).toEqual([
      { host: 'ctlog.example.com', path: '/', pathType: 'Prefix', service: 'ctlog', port: 80 },
      { host: 'ctlog.example.com', path: '/forge-tiles', pathType: 'Prefix', service: 'ctlog-tiles', port: 80 },
    ]);
    const tesseract = args(before, 'ctlog-tiles');
    expect(tesseract).toContain('--origin=ctlog.example.com/forge-tiles');
    expect(tesseract).toContain('--path_prefix=forge-tiles');
    const fulcioCtUrl = (cluster: SynthesizedCluster) => args(cluster, 'fulcio').find((arg) => arg.startsWith('--ct-log-url'));
    expect(fulcioCtUrl(before)).toBe('--ct-log-url=http://ctlog.sigstore-system.svc/forge');
    const after = synthesizeCluster(chartInput(migrated(['ctlog'], true), CT_MIGRATION));
    expect(fulcioCtUrl(after)).toBe('--ct-log-url=http://ctlog-tiles.sigstore-system.svc/forge-tiles');
  });

  it('without public hostnames the tile-based logs are rekor-tiles.<ns>.svc and ctlog-tiles.<ns>.svc/<prefix>-tiles', () => {
    const cluster = synthesizeCluster(chartInput(migrated(['rekor', 'ctlog'], true), BOTH_IN_CLUSTER));
    expect(args(cluster, 'rekor-tiles')).toContain('--hostname=rekor-tiles.sigstore-system.svc');
    expect(args(cluster, 'ctlog-tiles')).toContain('--origin=ctlog-tiles.sigstore-system.svc/sigstore-tiles');
    expect(names(cluster.public, 'Ingress')).toEqual([]);
  });
});
