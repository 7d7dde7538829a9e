import type { SigstoreConfig } from '../../lib/config/schema';
import { SERVICE_NAMES } from '../../lib/config/service-urls';
import { describeObject, type KubeObject } from './kubernetes-schema';
import { containersOf, podTemplates, type Pod } from './manifest-checks';

/*
 * The NetworkPolicy flow check, in two halves that share nothing with lib/k8s/network-wiring.ts:
 *
 * - `requiredFlows` reads what the synthesized pods need from the objects themselves: the in-cluster
 *   addresses in their args and in the ConfigMaps they mount (resolved through the Services to the
 *   selected pods and the target ports), the external database in a DSN, the OIDC issuers in
 *   Fulcio's config, NTP when the TSA monitors it, a service account token (the API server), the
 *   Ingresses, the Services' metrics ports, and the configured peers outside the namespace.
 * - `allowedFlows` evaluates the NetworkPolicies as the API defines them: for each pod template, the
 *   policies that select it, their peers matched against the pod templates, namespaces and blocks.
 *
 * Both give flows as strings, `egress <component> -> <peer> <PROTOCOL>/<port>` and
 * `ingress <component> <- <peer> <PROTOCOL>/<port>`, so a test compares them for equality.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */

const COMPONENT = 'app.kubernetes.io/name';
type NetworkConfig = SigstoreConfig['networkPolicy'];

const sortedJson = (labels: Record<string, string> | undefined) =>
  JSON.stringify(Object.fromEntries(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
const podsPeer = (namespaceLabels: Record<string, string>, podLabels: Record<string, string> | undefined) =>
  `pods:${sortedJson(namespaceLabels)}/${sortedJson(podLabels)}`;
const componentOf = (pod: Pod) => pod.labels[COMPONENT] ?? `(unlabelled ${describeObject(pod.owner)})`;
const namespaceOf = (object: KubeObject) => object.metadata.namespace ?? '';

const SERVICE_HOST = /([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(?:\.cluster\.local)?(?::(\d+))?/g;
/** Flags that give an address's port separately (Rekor's). */
const PORT_FLAGS: Record<string, string> = {
  '--trillian_log_server.address': '--trillian_log_server.port',
  '--redis_server.address': '--redis_server.port',
};
const DSN_HOST = /@tcp\(([^:)]+):(\d+)\)/g;
/** A MySQL client's address flags (mysqldump in a shell script). */
const MYSQL_CLIENT_HOST = /--host=(\S+) --port=(\d+)/g;
/** An https URL a shell script fetches (curl), outside the cluster. */
const SCRIPT_HTTPS_URL = /https:\/\/([a-z0-9.-]+)(?::(\d+))?[/"\s]/g;
/** Flags whose value is a name the server calls itself, not an address it dials. */
// Rekor v1's and v2's checkpoint origin, TesseraCT's origin (lib/config/log-origins.ts).
const IDENTITY_FLAGS = new Set(['--rekor_server.hostname', '--hostname', '--origin']);

/**
 * ConfigMaps that a pod serves as data and never reads as its own configuration: the TUF server's
 * repository, whose trusted_root.json names the services' URLs for clients.
 */
const DATA_CONFIGMAPS = new Set(['tuf-repository']);

/** The text a pod's processes are configured with: every argument, and the data of the ConfigMaps it mounts. */
function configurationTexts(pod: Pod, objects: readonly KubeObject[]): { args: string[][]; files: string[] } {
  const args = containersOf(pod).map(({ container }) => [...(container.command ?? []), ...(container.args ?? [])]);
  const files: string[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    const name = volume.configMap?.name;
    if (!name || DATA_CONFIGMAPS.has(name)) continue;
    const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name && namespaceOf(object) === namespaceOf(pod.owner)) as any;
    files.push(...Object.values<string>(configMap?.data ?? {}));
  }
  return { args, files };
}

/** The flows the synthesized objects need, as sorted unique strings. */
export function requiredFlows(objects: readonly KubeObject[], network: NetworkConfig): string[] {
  const flows = new Set<string>();
  const pods = podTemplates(objects);
  const services = new Map((objects.filter((object) => object.kind === 'Service') as any[]).map((service) => [`${service.metadata.name}.${namespaceOf(service)}.svc`, service]));
  const selected = (service: any) =>
    pods.filter((pod) => namespaceOf(pod.owner) === namespaceOf(service) && Object.entries<string>(service.spec.selector ?? {}).every(([key, value]) => pod.labels[key] === value));
  const targetPort = (service: any, port: number) => {
    const servicePort = service.spec.ports.find((candidate: any) => candidate.port === port);
    return servicePort ? { port: servicePort.targetPort ?? servicePort.port, protocol: servicePort.protocol ?? 'TCP' } : undefined;
  };
  const external = (client: string, cidrs: readonly string[], protocol: string, port: number) => {
    for (const cidr of cidrs) flows.add(`egress ${client} -> cidr:${cidr} ${protocol}/${port}`);
  };
  const dns = (client: string) => {
    for (const protocol of ['UDP', 'TCP']) flows.add(`egress ${client} -> ${podsPeer(network.dns.namespaceLabels, network.dns.podLabels)} ${protocol}/53`);
  };

  for (const pod of pods) {
    const client = componentOf(pod);
    const { args, files } = configurationTexts(pod, objects);
    let resolves = false;
    const reference = (host: string, port: number, where: string) => {
      const service = services.get(host);
      const target = service && targetPort(service, port);
      if (!service || !target) {
        flows.add(`unresolved ${client} -> ${host}:${port} (${where})`);
        return;
      }
      resolves = true;
      for (const server of selected(service)) {
        flows.add(`egress ${client} -> component:${componentOf(server)} ${target.protocol}/${target.port}`);
        flows.add(`ingress ${componentOf(server)} <- component:${client} ${target.protocol}/${target.port}`);
      }
    };
    const scan = (fullText: string, where: string, portFlagValue?: string) => {
      let text = fullText;
      for (const match of fullText.matchAll(MYSQL_CLIENT_HOST)) {
        const [host, port] = [match[1], Number(match[2])];
        if (/\.svc$/.test(host)) reference(host, port, where);
        else {
          external(client, /^\d+\.\d+\.\d+\.\d+$/.test(host) ? [`${host}/32`] : network.externalCidrs, 'TCP', port);
          resolves = true;
        }
        text = text.replace(match[0], '');
      }
      for (const match of text.matchAll(SERVICE_HOST)) reference(`${match[1]}.${match[3]}.svc`, match[5] ? Number(match[5]) : portFlagValue ? Number(portFlagValue) : 80, where);
      for (const match of text.matchAll(DSN_HOST)) {
        const [host, port] = [match[1], Number(match[2])];
        if (host.endsWith('.svc')) continue; // an in-cluster DSN: SERVICE_HOST found it
        const isAddress = /^\d+\.\d+\.\d+\.\d+$/.test(host);
        external(client, isAddress ? [`${host}/32`] : network.externalCidrs, 'TCP', port);
        if (!isAddress) resolves = true;
      }
    };
    for (const words of args) {
      for (const word of words) {
        const [flag, value] = word.split(/=(.*)/s, 2);
        if (IDENTITY_FLAGS.has(flag)) continue;
        const portFlag = PORT_FLAGS[flag];
        const portValue = portFlag ? words.find((other) => other.startsWith(`${portFlag}=`))?.split('=')[1] : undefined;
        scan(value ?? word, flag, portValue);
      }
    }
    for (const file of files) scan(file, 'mounted ConfigMap');

    // Fulcio fetches its issuers' discovery documents and keys.
    for (const file of files) {
      let issuers: Record<string, unknown> | undefined;
      try {
        const parsed = JSON.parse(file);
        issuers = parsed.OIDCIssuers ? { ...parsed.OIDCIssuers, ...parsed.MetaIssuers } : undefined;
      } catch {
        issuers = undefined;
      }
      for (const wildcard of Object.keys(issuers ?? {})) {
        const url = new URL(wildcard.replace(/\*/g, 'x'));
        external(client, network.externalCidrs, 'TCP', url.port === '' ? 443 : Number(url.port));
        resolves = true;
      }
    }
    // Shell scripts that fetch https URLs (curl) reach them outside the cluster.
    for (const { container } of containersOf(pod)) {
      const command: string[] = container.command ?? [];
      if (command[0] !== '/bin/sh' || command[1] !== '-c') continue;
      for (const match of `${command[2]}\n`.matchAll(SCRIPT_HTTPS_URL)) {
        external(client, network.externalCidrs, 'TCP', match[2] ? Number(match[2]) : 443);
        resolves = true;
      }
    }
    // The TSA polls NTP servers unless monitoring is off.
    for (const { container } of containersOf(pod)) {
      const words: string[] = container.args ?? [];
      if (words.includes('--timestamp-signer=file') && !words.includes('--disable-ntp-monitoring')) {
        external(client, network.externalCidrs, 'UDP', 123);
        resolves = true;
      }
    }
    // A pod with a service account token talks to the API server (by the address in its environment).
    if (pod.spec.serviceAccountName && pod.spec.automountServiceAccountToken === true) {
      for (const port of network.apiServer.ports) external(client, network.apiServer.cidrs, 'TCP', port);
    }
    if (resolves) dns(client);
  }

  const admit = (service: any, port: any, peer: string) => {
    for (const server of selected(service)) flows.add(`ingress ${componentOf(server)} <- ${peer} ${port.protocol ?? 'TCP'}/${port.targetPort ?? port.port}`);
  };
  for (const ingress of objects.filter((object) => object.kind === 'Ingress') as any[]) {
    for (const rule of ingress.spec.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const service = services.get(`${path.backend.service.name}.${namespaceOf(ingress)}.svc`);
        const port = service?.spec.ports.find((candidate: any) => candidate.port === path.backend.service.port.number);
        if (service && port) admit(service, port, podsPeer(network.ingressController.namespaceLabels, network.ingressController.podLabels));
      }
    }
  }
  for (const service of services.values()) {
    for (const port of service.spec.ports) {
      if (port.name === 'metrics' && network.metricsScraper !== false) admit(service, port, podsPeer(network.metricsScraper.namespaceLabels, network.metricsScraper.podLabels));
      if (port.name !== 'metrics' && (Object.values(SERVICE_NAMES) as string[]).includes(service.metadata.name)) {
        for (const client of network.publicServiceClients) admit(service, port, podsPeer(client.namespaceLabels, client.podLabels));
      }
    }
  }
  return [...flows].sort();
}

const labelsMatch = (selector: any, labels: Record<string, string>) => {
  if (selector.matchExpressions?.length) throw new Error('matchExpressions are not evaluated by this check');
  return Object.entries<string>(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
};

/** The flows the NetworkPolicies allow, evaluated per pod template, as sorted unique strings. */
export function allowedFlows(objects: readonly KubeObject[]): string[] {
  const flows = new Set<string>();
  const pods = podTemplates(objects);
  const policies = objects.filter((object) => object.kind === 'NetworkPolicy') as any[];
  for (const pod of pods) {
    const component = componentOf(pod);
    const selecting = policies.filter((policy) => namespaceOf(policy) === namespaceOf(pod.owner) && labelsMatch(policy.spec.podSelector ?? {}, pod.labels));
    for (const direction of ['ingress', 'egress'] as const) {
      const type = direction === 'ingress' ? 'Ingress' : 'Egress';
      const arrow = direction === 'ingress' ? '<-' : '->';
      const applying = selecting.filter((policy) => (policy.spec.policyTypes ?? ['Ingress']).includes(type));
      if (applying.length === 0) {
        flows.add(`${direction} ${component} ${arrow} anything (no policy selects it)`);
        continue;
      }
      for (const policy of applying) {
        for (const rule of policy.spec[direction] ?? []) {
          const peers: any[] | undefined = direction === 'ingress' ? rule.from : rule.to;
          const names: string[] = [];
          if (!peers || peers.length === 0) names.push('anything');
          for (const peer of peers ?? []) {
            if (peer.ipBlock) {
              names.push(`cidr:${peer.ipBlock.cidr}${peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(',')}` : ''}`);
            } else if (peer.namespaceSelector) {
              names.push(podsPeer(peer.namespaceSelector.matchLabels ?? {}, peer.podSelector?.matchLabels));
            } else {
              const matched = pods.filter((other) => namespaceOf(other.owner) === namespaceOf(policy) && labelsMatch(peer.podSelector ?? {}, other.labels));
              if (matched.length === 0) names.push(`no pod (${JSON.stringify(peer.podSelector)})`);
              names.push(...matched.map((other) => `component:${componentOf(other)}`));
            }
          }
          const ports: string[] = (rule.ports ?? [{}]).map((port: any) => `${port.protocol ?? 'TCP'}/${port.port ?? '*'}${port.endPort ? `-${port.endPort}` : ''}`);
          for (const name of names) for (const port of ports) flows.add(`${direction} ${component} ${arrow} ${name} ${port}`);
        }
      }
    }
  }
  return [...flows].sort();
}

/** What the policies lack and what they allow beyond the need (both empty when they match). */
export function flowDifferences(objects: readonly KubeObject[], network: NetworkConfig): { missing: string[]; extra: string[] } {
  const required = requiredFlows(objects, network);
  const allowed = allowedFlows(objects);
  return { missing: required.filter((flow) => !allowed.includes(flow)), extra: allowed.filter((flow) => !required.includes(flow)) };
}
