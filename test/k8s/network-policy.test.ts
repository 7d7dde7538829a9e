import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { EXTERNAL_PLAIN_DATABASE_YAML, PRODUCTION_LIKE_YAML, TEST_PASSWORDS, chartInput, find, synthesizeCluster } from './cluster-fixture';
import type { KubeObject } from './kubernetes-schema';
import { allowedFlows, flowDifferences, requiredFlows } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-netpol-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const PUBLIC_CLIENTS_YAML = `
networkPolicy:
  publicServiceClients:
    - namespaceLabels: { kubernetes.io/metadata.name: forge-ci }
      podLabels: { app: runner }
  metricsScraper: false
  dns: { namespaceLabels: { kubernetes.io/metadata.name: kube-system }, podLabels: { k8s-app: kube-dns } }
  apiServer: { cidrs: [192.0.2.10/32], ports: [5443] }
observability:
  prober: { enabled: true }
`;
const OBSERVED_YAML = `${PRODUCTION_LIKE_YAML}observability: { serviceMonitor: { enabled: true }, prober: { enabled: true } }\n`;

const CONFIGURATIONS: Record<string, string> = {
  'dev defaults': '',
  'production-like (external TLS database by host name, hostnames, elected signers)': PRODUCTION_LIKE_YAML,
  'external database by IP address': EXTERNAL_PLAIN_DATABASE_YAML,
  'public clients, no scraper, pinned DNS pods and API server, prober': PUBLIC_CLIENTS_YAML,
  'NTP monitoring on': 'services:\n  tsa: { ntpMonitoring: true }\n',
  'production-like with the ServiceMonitor and the prober': OBSERVED_YAML,
};

describe.each(Object.entries(CONFIGURATIONS))('NetworkPolicies allow exactly the flows the objects need: %s', (_name, yaml) => {
  it('no missing flow, no extra flow', () => {
    const config = fixtureConfig(yaml);
    const cluster = synthesizeCluster(chartInput(material, yaml));
    const required = requiredFlows(cluster.public, config.networkPolicy);
    expect(required.filter((flow) => flow.startsWith('unresolved'))).toEqual([]);
    expect(flowDifferences(cluster.public, config.networkPolicy)).toEqual({ missing: [], extra: [] });
    expect(allowedFlows(cluster.public)).toEqual(required);
  });
});

describe('the flows themselves (dev defaults)', () => {
  let objects: KubeObject[];
  let required: string[];
  beforeAll(() => {
    objects = synthesizeCluster(chartInput(material)).public;
    required = requiredFlows(objects, fixtureConfig('').networkPolicy);
  });

  it('default deny for every pod of the namespace, both directions, first after the Namespace', () => {
    const policies = objects.filter((object) => object.kind === 'NetworkPolicy') as any[];
    expect(policies[0].metadata.name).toBe('default-deny');
    expect(policies[0].spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(objects.findIndex((object) => object.kind === 'NetworkPolicy')).toBe(1);
    for (const policy of policies) expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('are the issue\'s list: Fulcio → CT log, Rekor → Trillian and Redis, CT log → Trillian, Trillian and createdb → MySQL, tree Jobs → Trillian admin and the API server', () => {
    const kubeSystem = 'pods:{"kubernetes.io/metadata.name":"kube-system"}/{}';
    expect(required).toEqual(
      expect.arrayContaining([
        'egress fulcio -> component:ctlog TCP/6962',
        'ingress ctlog <- component:fulcio TCP/6962',
        'egress rekor -> component:trillian-log-server TCP/8091',
        'egress rekor -> component:rekor-redis TCP/6379',
        'egress ctlog -> component:trillian-log-server TCP/8091',
        'egress trillian-log-server -> component:trillian-mysql TCP/3306',
        'egress trillian-log-signer -> component:trillian-mysql TCP/3306',
        'egress trillian-createdb -> component:trillian-mysql TCP/3306',
        'egress rekor-createtree -> component:trillian-log-server TCP/8091',
        'egress ctlog-createtree -> component:trillian-log-server TCP/8091',
        'egress rekor-createtree -> cidr:0.0.0.0/0 TCP/443',
        'egress rekor-createtree -> cidr:0.0.0.0/0 TCP/6443',
        `egress rekor -> ${kubeSystem} UDP/53`,
        `egress rekor -> ${kubeSystem} TCP/53`,
        'ingress trillian-log-server <- pods:{"kubernetes.io/metadata.name":"monitoring"}/{} TCP/8090',
        'ingress fulcio <- pods:{"kubernetes.io/metadata.name":"monitoring"}/{} TCP/2112',
      ]),
    );
    // Nothing talks to MySQL, Redis or the TUF server but those above; they talk to nobody.
    expect(required.filter((flow) => /^egress (trillian-mysql|rekor-redis|tuf) /.test(flow))).toEqual([]);
    expect(required.filter((flow) => flow.startsWith('ingress trillian-mysql '))).toEqual([
      'ingress trillian-mysql <- component:trillian-createdb TCP/3306',
      'ingress trillian-mysql <- component:trillian-log-server TCP/3306',
      'ingress trillian-mysql <- component:trillian-log-signer TCP/3306',
    ]);
    // No Ingress without hostnames: nothing from the ingress controller.
    expect(required.some((flow) => flow.includes('ingress-nginx'))).toBe(false);
  });

  it('production-like: the ingress controller reaches the five public services, the external database by its address block, elected signers the API server', () => {
    const flows = requiredFlows(synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML)).public, fixtureConfig(PRODUCTION_LIKE_YAML).networkPolicy);
    const controller = 'pods:{"kubernetes.io/metadata.name":"ingress-nginx"}/{}';
    expect(flows.filter((flow) => flow.includes(controller))).toEqual([
      `ingress ctlog <- ${controller} TCP/6962`,
      `ingress fulcio <- ${controller} TCP/5555`,
      `ingress rekor <- ${controller} TCP/3000`,
      `ingress tsa <- ${controller} TCP/5555`,
      `ingress tuf <- ${controller} TCP/8080`,
    ]);
    expect(flows).toEqual(expect.arrayContaining(['egress trillian-log-server -> cidr:0.0.0.0/0 TCP/3307', 'egress trillian-log-signer -> cidr:0.0.0.0/0 TCP/6443']));
    expect(flows.some((flow) => flow.includes('trillian-mysql'))).toBe(false);
    const byAddress = requiredFlows(synthesizeCluster(chartInput(material, EXTERNAL_PLAIN_DATABASE_YAML)).public, fixtureConfig(EXTERNAL_PLAIN_DATABASE_YAML).networkPolicy);
    expect(byAddress).toEqual(expect.arrayContaining(['egress trillian-log-server -> cidr:10.1.2.3/32 TCP/3306', 'egress trillian-createdb -> cidr:10.1.2.3/32 TCP/3306']));
  });

  it('the documented production example passes too', () => {
    const text = readFileSync(join(__dirname, '..', '..', 'envs', 'prd.example.yaml'), 'utf8');
    const config = { ...parseConfigText(text, 'envs/prd.example.yaml'), env: 'prd' };
    const cluster = synthesizeCluster({ config, material, passwords: TEST_PASSWORDS });
    expect(flowDifferences(cluster.public, config.networkPolicy)).toEqual({ missing: [], extra: [] });
  });

  it('networkPolicy.enabled: false renders none', () => {
    const cluster = synthesizeCluster(chartInput(material, 'networkPolicy: { enabled: false }\n'));
    expect(cluster.public.filter((object) => object.kind === 'NetworkPolicy')).toEqual([]);
  });
});

describe('the flow check can fail', () => {
  let objects: KubeObject[];
  const network = () => fixtureConfig('').networkPolicy;
  const mutate = (edit: (objects: any[]) => void) => {
    const copy = JSON.parse(JSON.stringify(objects));
    edit(copy);
    return copy as KubeObject[];
  };
  const remove = (list: any[], kind: string, name: string) => list.splice(list.indexOf(find(list, kind, name)), 1);
  beforeAll(() => {
    objects = synthesizeCluster(chartInput(material)).public;
  });

  it('a dropped policy: its component\'s flows are missing (the default deny still holds)', () => {
    const { missing, extra } = flowDifferences(mutate((list) => remove(list, 'NetworkPolicy', 'rekor')), network());
    expect(extra).toEqual([]);
    expect(missing).toEqual(expect.arrayContaining(['egress rekor -> component:rekor-redis TCP/6379', 'egress rekor -> component:trillian-log-server TCP/8091']));
    expect(missing.every((flow) => / rekor /.test(flow))).toBe(true);
  });

  it('a dropped default deny and policy: that pod is unrestricted (extra)', () => {
    const { extra } = flowDifferences(
      mutate((list) => {
        remove(list, 'NetworkPolicy', 'default-deny');
        remove(list, 'NetworkPolicy', 'tuf');
      }),
      network(),
    );
    expect(extra).toEqual(['egress tuf -> anything (no policy selects it)', 'ingress tuf <- anything (no policy selects it)']);
  });

  it('an extra port, an extra peer, a widened selector, a missing peer selector', () => {
    const withPort = mutate((list) => find(list, 'NetworkPolicy', 'trillian-mysql').spec.ingress[0].ports.push({ port: 33060, protocol: 'TCP' }));
    expect(flowDifferences(withPort, network()).extra).toEqual([
      'ingress trillian-mysql <- component:trillian-createdb TCP/33060',
      'ingress trillian-mysql <- component:trillian-log-server TCP/33060',
      'ingress trillian-mysql <- component:trillian-log-signer TCP/33060',
    ]);
    const withPeer = mutate((list) => find(list, 'NetworkPolicy', 'trillian-mysql').spec.ingress[0].from.push({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'fulcio' } } }));
    expect(flowDifferences(withPeer, network()).extra).toEqual(['ingress trillian-mysql <- component:fulcio TCP/3306']);
    const widened = mutate((list) => (find(list, 'NetworkPolicy', 'rekor-redis').spec.ingress[0].from = [{ podSelector: {} }]));
    expect(flowDifferences(widened, network()).extra).toEqual(expect.arrayContaining(['ingress rekor-redis <- component:fulcio TCP/6379', 'ingress rekor-redis <- component:tuf TCP/6379']));
    const anyone = mutate((list) => delete find(list, 'NetworkPolicy', 'rekor-redis').spec.ingress[0].from);
    expect(flowDifferences(anyone, network()).extra).toEqual(['ingress rekor-redis <- anything TCP/6379']);
  });

  it('a one-sided flow (egress allowed, the server\'s ingress not) is missing', () => {
    const oneSided = mutate((list) => {
      const ingress = find(list, 'NetworkPolicy', 'ctlog').spec.ingress;
      ingress.splice(ingress.findIndex((rule: any) => rule.from.some((peer: any) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'fulcio')), 1);
    });
    expect(flowDifferences(oneSided, network()).missing).toEqual(['ingress ctlog <- component:fulcio TCP/6962']);
  });

  it('a new address in a pod\'s args that no policy allows is missing (the need is read from the objects)', () => {
    const rewired = mutate((list) => {
      const args: string[] = find(list, 'Deployment', 'rekor').spec.template.spec.containers[0].args;
      args.push('--extra-backend=http://tuf.sigstore-system.svc');
    });
    expect(flowDifferences(rewired, network()).missing).toEqual(['egress rekor -> component:tuf TCP/8080', 'ingress tuf <- component:rekor TCP/8080']);
  });
});
