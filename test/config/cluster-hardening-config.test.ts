import { parseConfigText } from '../../lib/config/load';
import { ConfigError } from '../../lib/errors';

const BASE = 'organization: Test Org\n';

function problemsOf(text: string): Record<string, { message: string; value?: string }> {
  try {
    parseConfigText(BASE + text, 'envs/bad.yaml');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return Object.fromEntries(error.problems.map((problem) => [problem.path.replace(/ \(line \d+\)$/, ''), problem]));
  }
  throw new Error('expected a ConfigError');
}

describe('cluster hardening sections', () => {
  it('default to policies on, the ingress-nginx, monitoring and kube-system namespaces, no placement, no ServiceMonitor or prober', () => {
    const config = parseConfigText(BASE, 'envs/dev.yaml');
    expect(config.networkPolicy).toEqual({
      enabled: true,
      ingressController: { namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' }, podLabels: {} },
      metricsScraper: { namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' }, podLabels: {} },
      dns: { namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, podLabels: {} },
      apiServer: { cidrs: ['0.0.0.0/0'], ports: [443, 6443] },
      externalCidrs: ['0.0.0.0/0'],
      publicServiceClients: [],
    });
    expect(config.scheduling).toEqual({ nodeSelector: {}, tolerations: [], zoneTopologyKey: 'topology.kubernetes.io/zone' });
    expect(config.observability).toEqual({ serviceMonitor: { enabled: false, interval: '30s', labels: {} }, prober: { enabled: false, schedule: '*/5 * * * *' } });
  });

  it('names the field, the value and what is accepted', () => {
    const problems = problemsOf(`networkPolicy:
  apiServer: { cidrs: [10.0.0.0/33], ports: [0] }
  ingressController: { namespaceLabels: {} }
  externalCidrs: [example.com]
scheduling:
  nodeSelector: { "bad key!": x }
  priorityClassName: Not_A_Name
observability:
  serviceMonitor: { interval: 30 }
  prober: { schedule: "every five minutes" }
`);
    expect(problems['networkPolicy.apiServer.cidrs[0]'].message).toMatch(/address block such as "10.0.0.0\/8"/);
    expect(problems['networkPolicy.apiServer.ports[0]'].message).toMatch(/TCP port from 1 to 65535/);
    expect(problems['networkPolicy.ingressController.namespaceLabels'].message).toMatch(/at least one namespace label/);
    expect(problems['networkPolicy.externalCidrs[0]'].message).toMatch(/address block/);
    expect(problems['scheduling.nodeSelector.bad key!'].message).toMatch(/label key/);
    expect(problems['scheduling.priorityClassName'].message).toMatch(/PriorityClass name/);
    expect(problems['observability.serviceMonitor.interval'].message).toMatch(/Prometheus duration/);
    expect(problems['observability.prober.schedule'].message).toMatch(/cron schedule of five fields/);
  });

  it('elected log signers need the tree ids (quoted: they exceed a YAML number), which must be int64 decimals', () => {
    const missing = problemsOf('services:\n  trillian: { logSignerReplicas: 2 }\n');
    expect(missing['services.trillian.treeIds'].message).toMatch(/ids of the Rekor and CT log trees because logSignerReplicas is above 1/);
    const unquoted = problemsOf('services:\n  trillian: { logSignerReplicas: 2, treeIds: { rekor: 1234567890123456789, ctlog: "12" } }\n');
    expect(unquoted['services.trillian.treeIds.rekor'].message).toMatch(/quoted decimal string/);
    const tooLarge = problemsOf('services:\n  trillian: { logSignerReplicas: 2, treeIds: { rekor: "9999999999999999999", ctlog: "0" } }\n');
    expect(tooLarge['services.trillian.treeIds.rekor'].message).toMatch(/below 2\^63/);
    expect(tooLarge['services.trillian.treeIds.ctlog'].message).toMatch(/positive decimal number/);
    const ok = parseConfigText(`${BASE}services:\n  trillian: { logSignerReplicas: 2, treeIds: { rekor: "9223372036854775807", ctlog: "1" } }\n`, 'envs/ok.yaml');
    expect(ok.services.trillian.treeIds).toEqual({ rekor: '9223372036854775807', ctlog: '1', rekorShards: [], ctlogShards: [] });
  });
});
