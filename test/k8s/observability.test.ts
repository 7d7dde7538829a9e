import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';
import { INPUT_CHECKSUM_ANNOTATION } from '../../lib/k8s/input-checksums';
import { PROBER_ARTIFACT_HASH } from '../../lib/k8s/observability';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { PRODUCTION_LIKE_YAML, chartInput, find, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';
import { unknownFieldChecker, schemaErrors } from './kubernetes-schema';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
let dev: SynthesizedCluster;
let observed: SynthesizedCluster;
const OBSERVED_YAML = `${PRODUCTION_LIKE_YAML}observability:
  serviceMonitor: { enabled: true, interval: 1m, labels: { release: kube-prometheus-stack } }
  prober: { enabled: true, schedule: "*/10 * * * *" }
`;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-observability-'));
  material = await fixtureMaterial(directory);
  dev = synthesizeCluster(chartInput(material));
  observed = synthesizeCluster(chartInput(material, OBSERVED_YAML));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const METRICS = { fulcio: 2112, rekor: 2112, tsa: 2112, ctlog: 6963, 'trillian-log-server': 8090, 'trillian-log-signer': 8090 } as const;

/** The pod annotations but the inputs checksum every rolling pod template carries (test/k8s/input-checksums.test.ts). */
function withoutInputChecksum(annotations: Record<string, string> | undefined): Record<string, string> {
  const { [INPUT_CHECKSUM_ANNOTATION]: checksum, ...rest } = annotations ?? {};
  expect(checksum).toMatch(/^[0-9a-f]{64}$/);
  return rest;
}

describe('metrics', () => {
  it('every server with metrics has them on its Service (port "metrics") and prometheus.io annotations on its pods; the others have neither', () => {
    for (const [name, port] of Object.entries(METRICS)) {
      const service = find(dev.public, 'Service', name);
      expect([name, service.spec.ports.find((candidate: any) => candidate.name === 'metrics')]).toEqual([name, { name: 'metrics', port, targetPort: port }]);
      expect([name, withoutInputChecksum(find(dev.public, 'Deployment', name).spec.template.metadata.annotations)]).toEqual([
        name,
        { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' },
      ]);
    }
    for (const name of ['trillian-mysql', 'rekor-redis', 'tuf']) {
      expect(find(dev.public, 'Service', name).spec.ports.some((candidate: any) => candidate.name === 'metrics')).toBe(false);
      expect(withoutInputChecksum(find(dev.public, 'Deployment', name).spec.template.metadata.annotations)).toEqual({});
    }
  });

  it('no ServiceMonitor (a CRD) and no prober unless enabled', () => {
    expect(dev.public.some((object) => object.kind === 'ServiceMonitor' || object.kind === 'CronJob')).toBe(false);
  });

  it('the ServiceMonitor validates against the Prometheus Operator models and selects exactly the Services with a metrics port', () => {
    const monitor = find(observed.public, 'ServiceMonitor', 'sigstore');
    expect(schemaErrors(monitor)).toEqual([]);
    expect(unknownFieldChecker().unknownFields(monitor)).toEqual([]);
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.metadata.namespace).toBe('sigstore-prd');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '1m', scheme: 'http' }]);
    const selected = (observed.public.filter((object) => object.kind === 'Service') as any[]).filter(
      (service) =>
        service.metadata.namespace === monitor.metadata.namespace &&
        Object.entries<string>(monitor.spec.selector.matchLabels).every(([key, value]) => service.metadata.labels?.[key] === value),
    );
    const scraped = selected.filter((service) => service.spec.ports.some((port: any) => port.name === monitor.spec.endpoints[0].port));
    expect(scraped.map((service) => service.metadata.name).sort()).toEqual(Object.keys(METRICS).sort());
  });

  it('a ServiceMonitor with the metrics scraper shut out by the NetworkPolicies is a configuration error', () => {
    let caught: unknown;
    try {
      parseConfigText('organization: x\nnetworkPolicy: { metricsScraper: false }\nobservability: { serviceMonitor: { enabled: true } }\n', 'envs/bad.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''))).toEqual(['networkPolicy.metricsScraper']);
  });
});

describe('prober', () => {
  it('a CronJob that runs one at a time, never retries, keeps failed Jobs, and is as locked down as every pod', () => {
    const cronJob = find(observed.public, 'CronJob', 'sigstore-prober');
    expect(schemaErrors(cronJob)).toEqual([]);
    expect(cronJob.spec.schedule).toBe('*/10 * * * *');
    expect(cronJob.spec.timeZone).toBe('Etc/UTC'); // the schedule is read in UTC, whatever the cluster's zone
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.failedJobsHistoryLimit).toBe(3);
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(0);
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].command[2]).toContain('http://fulcio.sigstore-prd.svc/api/v1/rootCert');
    expect(pod.containers[0].command[2]).toContain('http://tsa.sigstore-prd.svc/api/v1/timestamp');
    expect(pod.containers[0].command[2]).toContain('http://rekor.sigstore-prd.svc/api/v1/log');
  });

  // The script, run by /bin/sh with a stand-in curl that answers like the servers (or not).
  const runProber = (answers: { fulcio: string; tsaType: string; rekor: string; tsaFails?: boolean }) => {
    const script: string = find(observed.public, 'CronJob', 'sigstore-prober').spec.jobTemplate.spec.template.spec.containers[0].command[2];
    const bin = mkdtempSync(join(directory, 'bin-'));
    const grep = spawnSync('sh', ['-c', 'command -v grep'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(grep, join(bin, 'grep'));
    writeFileSync(
      join(bin, 'curl'),
      [
        '#!/bin/sh',
        'for last; do :; done',
        'case "$*" in',
        `  *"${PROBER_ARTIFACT_HASH}"*) ${answers.tsaFails ? 'exit 22' : `printf '%s' '${answers.tsaType}'`} ;;`,
        `  *rootCert*) printf '%s\\n' '${answers.fulcio}' ;;`,
        `  */api/v1/log) printf '%s\\n' '${answers.rekor}' ;;`,
        '  *) exit 7 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'curl'), 0o755);
    return spawnSync('/bin/sh', ['-c', script], { env: { PATH: bin }, encoding: 'utf8' });
  };
  const healthy = { fulcio: '-----BEGIN CERTIFICATE-----', tsaType: 'application/timestamp-reply', rekor: '{"rootHash":"ab","treeSize":3}' };

  it('succeeds when all three answer', () => {
    const result = runProber(healthy);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('prober: Fulcio root certificate ok');
  });

  it('fails loudly, naming each service that did not answer right', () => {
    const result = runProber({ ...healthy, fulcio: '<html>502</html>', tsaType: 'text/html' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('prober: Fulcio root certificate FAILED');
    expect(result.stderr).toContain('TSA answered text/html');
    expect(result.stderr).toContain('prober: FAILED: Fulcio root certificate TSA timestamp');
    expect(runProber({ ...healthy, tsaFails: true }).stderr).toContain('prober: FAILED: TSA timestamp');
    expect(runProber({ ...healthy, rekor: '{}' }).stderr).toContain('prober: FAILED: Rekor log info');
  });
});
