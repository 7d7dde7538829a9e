import { createHash } from 'node:crypto';
import { ApiObject, Duration } from 'cdk8s';
import { kplus } from './kplus';
import { Construct } from 'constructs';
import { NetworkWiring, type ServiceEndpoint } from './network-wiring';
import { requireName, requirePinnedImage, requireProp } from './prop-validation';
import { METRICS_PORT_NAME, PART_OF_LABELS, secureContainer, secureCronJob } from './workload';

export { prometheusAnnotations } from './prometheus-annotations';

export interface ServiceMonitorProps {
  /** Scrape interval, e.g. "30s". */
  readonly interval: string;
  /** Labels Prometheus' serviceMonitorSelector matches. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * One Prometheus Operator ServiceMonitor (monitoring.coreos.com/v1, a CRD: emitted only when enabled)
 * for the namespace: every Service of the stack, its port named `metrics` (Services without one give
 * no target), so each component's replicas are scraped as the job named after its Service.
 */
export class ServiceMonitor extends Construct {
  static readonly NAME = 'sigstore';

  constructor(scope: Construct, id: string, props: ServiceMonitorProps) {
    super(scope, id);
    requireProp(this, /^[1-9][0-9]*(s|m)$/.test(props.interval), 'interval', props.interval, 'a Prometheus duration such as "30s"');
    new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: ServiceMonitor.NAME, labels: { ...PART_OF_LABELS, ...props.labels } },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/part-of': PART_OF_LABELS['app.kubernetes.io/part-of'] } },
        endpoints: [{ port: METRICS_PORT_NAME, path: '/metrics', interval: props.interval, scheme: 'http' }],
      },
    });
  }
}

export interface ProberProps {
  /** Cron schedule, five fields. */
  readonly schedule: string;
  readonly fulcio: ServiceEndpoint;
  readonly tsa: ServiceEndpoint;
  readonly rekor: ServiceEndpoint;
  /**
   * Rekor v2's checkpoint origin: the prober then reads its checkpoint (`GET /api/v2/checkpoint`,
   * sigstore/rekor-tiles v2.2.1 internal/server/http.go) and expects the origin on it.
   * @default - Rekor v1: its log info (`GET /api/v1/log`)
   */
  readonly rekorV2Origin?: string;
  /** An image with /bin/sh, curl and grep, pinned. */
  readonly image: string;
}

/** The digest the prober asks the TSA to timestamp (of a fixed text: nothing secret, nothing that changes). */
export const PROBER_ARTIFACT_HASH = createHash('sha256').update('sigstore-cdk prober').digest('base64');

/**
 * A CronJob that asks Fulcio for its CA chain (`GET /api/v1/rootCert`), the TSA for a timestamp
 * (`POST /api/v1/timestamp`, JSON request, sigstore/timestamp-authority v2.1.0 pkg/api/timestamp.go)
 * and Rekor for its log info (`GET /api/v1/log`), through their in-cluster Services. Any wrong answer
 * prints what failed and fails the Job (no retry): `kube_job_status_failed` (kube-state-metrics) and
 * `kubectl get jobs` show it.
 */
export class Prober extends Construct {
  static readonly NAME = 'sigstore-prober';
  readonly cronJob: kplus.CronJob;
  /** The shell script the container runs. */
  readonly script: string;

  constructor(scope: Construct, id: string, props: ProberProps) {
    super(scope, id);
    requirePinnedImage(this, 'image', props.image);
    const fields = props.schedule.trim().split(/\s+/);
    requireProp(this, fields.length === 5, 'schedule', props.schedule, 'a cron schedule of five fields, e.g. "*/5 * * * *"');
    requireName(this, 'name', Prober.NAME);

    const name = Prober.NAME;
    const wiring = NetworkWiring.of(this);
    const url = (endpoint: ServiceEndpoint, path: string) => {
      const target = wiring.connect(name, endpoint, 'prober');
      return `http://${target.host}${target.port === 80 ? '' : `:${target.port}`}${path}`;
    };
    const fulcio = url(props.fulcio, '/api/v1/rootCert');
    const tsa = url(props.tsa, '/api/v1/timestamp');
    const rekor = url(props.rekor, props.rekorV2Origin === undefined ? '/api/v1/log' : '/api/v2/checkpoint');
    const rekorAnswer = props.rekorV2Origin === undefined ? `'"treeSize"'` : `-xF '${props.rekorV2Origin}'`;
    const request = JSON.stringify({ artifactHash: PROBER_ARTIFACT_HASH, hashAlgorithm: 'sha256', certificates: true });
    this.script = [
      'set -u',
      'failed=""',
      'check() { if "$2"; then echo "prober: $1 ok"; else echo "prober: $1 FAILED" >&2; failed="$failed $1"; fi; }',
      `fulcio() { curl -fsS --max-time 10 ${fulcio} | grep -q 'BEGIN CERTIFICATE'; }`,
      `tsa() { type=$(curl -fsS --max-time 10 -o /dev/null -w '%{content_type}' -H 'Content-Type: application/json' --data '${request}' ${tsa}) && case "$type" in application/timestamp-reply*) true;; *) echo "TSA answered $type" >&2; false;; esac; }`,
      `rekor() { curl -fsS --max-time 10 ${rekor} | grep -q ${rekorAnswer}; }`,
      'check "Fulcio root certificate" fulcio',
      'check "TSA timestamp" tsa',
      'check "Rekor log info" rekor',
      'if [ -n "$failed" ]; then echo "prober: FAILED:$failed" >&2; exit 1; fi',
    ].join('\n');

    this.cronJob = secureCronJob(this, 'CronJob', {
      name,
      schedule: fields,
      startingDeadline: Duration.minutes(5),
      successfulJobsRetained: 1,
      failedJobsRetained: 3,
      backoffLimit: 0,
      activeDeadline: Duration.minutes(2),
      containers: [
        secureContainer({
          name: 'prober',
          image: props.image,
          command: ['/bin/sh', '-c', this.script],
          resources: { cpuMillis: { request: 10, limit: 100 }, memoryMebibytes: { request: 16, limit: 64 } },
        }),
      ],
    });
  }
}
