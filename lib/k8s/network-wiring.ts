import { Chart } from 'cdk8s';
import { kplus } from './kplus';
import { Construct, type IConstruct } from 'constructs';
import { ChartError } from '../errors';
import { compareEntryKeys } from '../code-unit-order';

/*
 * Who talks to whom, recorded by the constructs at the moment they wire a client to a server (the
 * same call that yields the host and port they put into the client's args), and rendered into
 * NetworkPolicies: a namespace-wide default deny, then one policy per component that allows exactly
 * the recorded flows, in both directions (egress on the client, ingress on the server). Policies
 * name container ports: NetworkPolicies see traffic after the Service has translated its port.
 */

export type Protocol = 'TCP' | 'UDP';

/** The label that selects one component's pods (every policy selects on it). */
export const COMPONENT_LABEL = 'app.kubernetes.io/name';

/** A port of one component's pods, reached through its Service. */
export interface ServiceEndpoint {
  /** `<service>.<namespace>.svc`. */
  readonly host: string;
  /** The Service port clients dial. */
  readonly port: number;
  /** The container port behind it (what NetworkPolicies match). */
  readonly targetPort: number;
  readonly protocol: Protocol;
  /** The component label of the pods behind the Service. */
  readonly component: string;
}

/** Pods of other namespaces, by labels (the ingress controller, the metrics scraper, DNS). */
export interface PeerSelector {
  /** Labels of the namespace, e.g. `{ "kubernetes.io/metadata.name": "ingress-nginx" }`. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Labels of the pods in it. @default - every pod of the namespace */
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** A destination outside the cluster (or the API server), by address block. */
export interface ExternalDestination {
  /** What it is, for the policy's readers and errors (e.g. "OIDC issuer accounts.google.com"). */
  readonly description: string;
  /** Host name the client resolves (then it also needs DNS); absent for IP addresses. */
  readonly hostname?: string;
  readonly cidrs: readonly string[];
  readonly port: number;
  readonly protocol: Protocol;
}

/** Where the peers outside the namespace are (from the environment's `networkPolicy` section). */
export interface NetworkPeers {
  /** The cluster DNS (port 53, UDP and TCP). */
  readonly dns: PeerSelector;
  /** The Kubernetes API server's endpoints (after the `kubernetes` Service's translation). */
  readonly apiServer: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
  /** The ingress controller's pods, in front of every public hostname. */
  readonly ingressController: PeerSelector;
  /** Who scrapes the metrics ports. @default - nobody (no metrics flow) */
  readonly metricsScraper?: PeerSelector;
  /** In-cluster clients of the public services (Fulcio, Rekor, CT log, TSA, TUF) besides the ingress controller. */
  readonly publicServiceClients: readonly PeerSelector[];
}

/** One end of a flow: a component of the namespace, or something outside it. */
export type FlowPeer =
  | { readonly kind: 'component'; readonly component: string }
  | { readonly kind: 'pods'; readonly selector: PeerSelector }
  | { readonly kind: 'cidrs'; readonly cidrs: readonly string[] };

export interface Flow {
  readonly direction: 'ingress' | 'egress';
  /** The component whose policy holds the rule. */
  readonly component: string;
  readonly peer: FlowPeer;
  readonly port: number;
  readonly protocol: Protocol;
  /** Why the flow exists (the policy's annotation lists these). */
  readonly purpose: string;
}

export const DNS_PORT = 53;
/** The namespace-wide policy that denies what no other policy allows. */
export const DEFAULT_DENY_POLICY = 'default-deny';

const SERVICE_PORTS = new WeakMap<kplus.Service, { component: string; ports: readonly kplus.ServicePort[] }>();

/** Records which component a Service selects (componentService calls it), for `serviceEndpoint`. */
export function recordServiceComponent(service: kplus.Service, component: string, ports: readonly kplus.ServicePort[]): void {
  SERVICE_PORTS.set(service, { component, ports });
}

/** The endpoint of a named port of a component Service: host, Service port, container port, component. */
export function serviceEndpoint(service: kplus.Service, portName: string): ServiceEndpoint {
  const recorded = SERVICE_PORTS.get(service);
  const port = recorded?.ports.find((candidate) => candidate.name === portName);
  if (!recorded || !port) {
    throw new ChartError('CHART_PROPS_INVALID', `${service.node.path}: no port named "${portName}" on a component Service`);
  }
  const namespace = Chart.of(service).namespace;
  return {
    host: `${service.name}.${namespace}.svc`,
    port: port.port,
    targetPort: port.targetPort ?? port.port,
    protocol: port.protocol === kplus.Protocol.UDP ? 'UDP' : 'TCP',
    component: recorded.component,
  };
}

/** `namespace/name`-style key of a peer, for grouping and de-duplication. */
export function peerKey(peer: FlowPeer): string {
  switch (peer.kind) {
    case 'component':
      return `component:${peer.component}`;
    case 'pods':
      return `pods:${JSON.stringify(sortedLabels(peer.selector.namespaceLabels))}/${JSON.stringify(sortedLabels(peer.selector.podLabels ?? {}))}`;
    case 'cidrs':
      return `cidrs:${[...peer.cidrs].sort().join(',')}`;
  }
}

function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(compareEntryKeys));
}

/**
 * The flows of one chart. Constructs find it with `NetworkWiring.of(this)`; SigstoreChart creates it
 * first (so its policies lead the manifest) and renders the policies after every component is built.
 */
export class NetworkWiring extends Construct {
  static readonly ID = 'NetworkWiring';

  /** The wiring of the chart `scope` belongs to (created, without peers, if the chart has none). */
  static of(scope: IConstruct): NetworkWiring {
    const chart = Chart.of(scope);
    return (chart.node.tryFindChild(NetworkWiring.ID) as NetworkWiring | undefined) ?? new NetworkWiring(chart);
  }

  private readonly components = new Set<string>();
  private readonly recorded: Flow[] = [];
  private peers?: NetworkPeers;

  constructor(chart: Chart, peers?: NetworkPeers) {
    super(chart, NetworkWiring.ID);
    this.peers = peers;
  }

  /** Every flow recorded so far, in order. */
  get flows(): readonly Flow[] {
    return this.recorded;
  }

  /** The components with pods (each gets a policy, flows or not). */
  get podComponents(): readonly string[] {
    return [...this.components];
  }

  /** Declares a component's pods; a component with no flow gets a policy that denies everything. */
  register(component: string): void {
    this.components.add(component);
  }

  /** `client` connects to `endpoint` by its Service name: egress, the server's ingress, and DNS. Returns the endpoint. */
  connect(client: string, endpoint: ServiceEndpoint, purpose: string): ServiceEndpoint {
    this.register(client);
    this.register(endpoint.component);
    this.add({ direction: 'egress', component: client, peer: { kind: 'component', component: endpoint.component }, port: endpoint.targetPort, protocol: endpoint.protocol, purpose });
    this.add({ direction: 'ingress', component: endpoint.component, peer: { kind: 'component', component: client }, port: endpoint.targetPort, protocol: endpoint.protocol, purpose });
    this.resolveNames(client);
    return endpoint;
  }

  /** `client` connects to something outside the cluster (DNS too when it is named by a host name). */
  connectExternal(client: string, destination: ExternalDestination): void {
    this.register(client);
    this.add({ direction: 'egress', component: client, peer: { kind: 'cidrs', cidrs: destination.cidrs }, port: destination.port, protocol: destination.protocol, purpose: destination.description });
    if (destination.hostname !== undefined) this.resolveNames(client);
  }

  /** `client` calls the Kubernetes API (it reaches it through the `kubernetes` Service's address in its environment, no DNS). */
  connectToApiServer(client: string, purpose: string): void {
    this.register(client);
    const apiServer = this.peers?.apiServer;
    if (!apiServer) return; // a chart without peers renders no policy (a construct used on its own)
    for (const port of apiServer.ports) {
      this.add({ direction: 'egress', component: client, peer: { kind: 'cidrs', cidrs: apiServer.cidrs }, port, protocol: 'TCP', purpose });
    }
  }

  /** The ingress controller forwards a public hostname to `endpoint`. */
  admitIngressController(endpoint: ServiceEndpoint, hostname: string): void {
    const ingressController = this.peers?.ingressController;
    if (ingressController) this.admit(endpoint, { kind: 'pods', selector: ingressController }, `ingress controller for ${hostname}`);
  }

  /** The metrics scraper (if configured) reads `endpoint`. */
  exposeMetrics(endpoint: ServiceEndpoint): void {
    const scraper = this.peers?.metricsScraper;
    if (scraper) this.admit(endpoint, { kind: 'pods', selector: scraper }, 'metrics scraper');
  }

  /** The configured in-cluster clients of the public services reach `endpoint`. */
  exposeToPublicClients(endpoint: ServiceEndpoint): void {
    for (const client of this.peers?.publicServiceClients ?? []) this.admit(endpoint, { kind: 'pods', selector: client }, 'in-cluster client of a public service');
  }

  /** The namespace-wide default deny and one policy per component, in registration order. */
  renderPolicies(): void {
    this.requirePeers();
    new kplus.k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: DEFAULT_DENY_POLICY },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    for (const component of this.components) {
      const flows = this.recorded.filter((flow) => flow.component === component);
      new kplus.k8s.KubeNetworkPolicy(this, `Policy-${component}`, {
        metadata: { name: component },
        spec: {
          podSelector: { matchLabels: { [COMPONENT_LABEL]: component } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: rules(flows.filter((flow) => flow.direction === 'ingress')).map(({ peers, ports }) => ({ from: peers, ports })),
          egress: rules(flows.filter((flow) => flow.direction === 'egress')).map(({ peers, ports }) => ({ to: peers, ports })),
        },
      });
    }
  }

  private admit(endpoint: ServiceEndpoint, peer: FlowPeer, purpose: string): void {
    this.register(endpoint.component);
    this.add({ direction: 'ingress', component: endpoint.component, peer, port: endpoint.targetPort, protocol: endpoint.protocol, purpose });
  }

  private resolveNames(client: string): void {
    const dns = this.peers?.dns;
    if (!dns) return; // without peers nothing is rendered; DNS is added when the chart has them
    for (const protocol of ['UDP', 'TCP'] as const) {
      this.add({ direction: 'egress', component: client, peer: { kind: 'pods', selector: dns }, port: DNS_PORT, protocol, purpose: 'DNS' });
    }
  }

  private add(flow: Flow): void {
    const same = (other: Flow) =>
      other.direction === flow.direction && other.component === flow.component && peerKey(other.peer) === peerKey(flow.peer) && other.port === flow.port && other.protocol === flow.protocol;
    if (!this.recorded.some(same)) this.recorded.push(flow);
  }

  private requirePeers(): NetworkPeers {
    if (!this.peers) throw new ChartError('CHART_PROPS_INVALID', `${this.node.path}: the chart's network peers (DNS, API server, ingress controller) are not configured`);
    return this.peers;
  }
}

/**
 * The rules of one direction: every peer with the ports it may use, and peers that may use the same
 * ports share a rule (peers and ports in the order the flows were recorded).
 */
function rules(flows: readonly Flow[]): { peers: kplus.k8s.NetworkPolicyPeer[]; ports: kplus.k8s.NetworkPolicyPort[] }[] {
  const byPeer = new Map<string, { peer: FlowPeer; ports: Map<string, kplus.k8s.NetworkPolicyPort> }>();
  for (const flow of flows) {
    const key = peerKey(flow.peer);
    const entry = byPeer.get(key) ?? { peer: flow.peer, ports: new Map() };
    entry.ports.set(`${flow.protocol}/${flow.port}`, { port: kplus.k8s.IntOrString.fromNumber(flow.port), protocol: flow.protocol });
    byPeer.set(key, entry);
  }
  const byPorts = new Map<string, { peers: kplus.k8s.NetworkPolicyPeer[]; ports: kplus.k8s.NetworkPolicyPort[] }>();
  for (const { peer, ports } of byPeer.values()) {
    const key = [...ports.keys()].join(',');
    const rule = byPorts.get(key) ?? { peers: [], ports: [...ports.values()] };
    rule.peers.push(...policyPeers(peer));
    byPorts.set(key, rule);
  }
  return [...byPorts.values()];
}

function policyPeers(peer: FlowPeer): kplus.k8s.NetworkPolicyPeer[] {
  switch (peer.kind) {
    case 'component':
      return [{ podSelector: { matchLabels: { [COMPONENT_LABEL]: peer.component } } }];
    case 'pods':
      return [
        {
          namespaceSelector: { matchLabels: { ...peer.selector.namespaceLabels } },
          podSelector: peer.selector.podLabels && Object.keys(peer.selector.podLabels).length > 0 ? { matchLabels: { ...peer.selector.podLabels } } : {},
        },
      ];
    case 'cidrs':
      return peer.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  }
}
