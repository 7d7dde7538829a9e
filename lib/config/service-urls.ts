import type { SigstoreConfig } from './schema';

/** Kubernetes Service names of the public components: stable DNS names, never hashed. */
export const SERVICE_NAMES = {
  fulcio: 'fulcio',
  rekor: 'rekor',
  ctlog: 'ctlog',
  tsa: 'tsa',
  tuf: 'tuf',
} as const;

export type PublicService = keyof typeof SERVICE_NAMES;

/** The URLs clients use, as written into trusted_root.json and the signing config. */
export interface ServiceUrls {
  /** Fulcio base URL. */
  readonly fulcio: string;
  /** Rekor base URL. */
  readonly rekor: string;
  /** CT log URL, including its prefix. */
  readonly ctlog: string;
  /** TSA timestamp endpoint (`…/api/v1/timestamp`). */
  readonly tsa: string;
  /** TUF repository base URL. */
  readonly tuf: string;
}

/** Base URL of a service: `https://<hostname>` when it has one, else its in-cluster address (Service port 80). */
export function serviceBaseUrl(config: SigstoreConfig, service: PublicService): string {
  const hostname = config.services[service].hostname;
  return hostname ? `https://${hostname}` : `http://${SERVICE_NAMES[service]}.${config.cluster.namespace}.svc`;
}

export function serviceUrls(config: SigstoreConfig): ServiceUrls {
  return {
    fulcio: serviceBaseUrl(config, 'fulcio'),
    rekor: serviceBaseUrl(config, 'rekor'),
    ctlog: `${serviceBaseUrl(config, 'ctlog')}/${config.services.ctlog.prefix}`,
    tsa: `${serviceBaseUrl(config, 'tsa')}/api/v1/timestamp`,
    tuf: serviceBaseUrl(config, 'tuf'),
  };
}

/**
 * The public hosts whose Ingress has no TLS Secret while the published URLs (signing config, trusted
 * root) say `https://<host>`: clients would fail against a plain-HTTP Ingress. None when TLS ends
 * before the Ingress (`cluster.tlsTerminatedUpstream`).
 */
export function plainHttpHostWarnings(config: SigstoreConfig): string[] {
  if (config.cluster.tlsTerminatedUpstream) return [];
  const warnings: string[] = [];
  for (const service of Object.keys(SERVICE_NAMES) as PublicService[]) {
    const { hostname, tlsSecret } = config.services[service];
    if (hostname && !tlsSecret && !config.cluster.ingressTlsSecret) {
      warnings.push(
        `services.${service}.hostname ${hostname} has no TLS Secret (services.${service}.tlsSecret or cluster.ingressTlsSecret), but the published URLs say https://${hostname}: ` +
          'clients will fail against a plain-HTTP Ingress; name the Secret (cert-manager can create it: cluster.ingressAnnotations) or set cluster.tlsTerminatedUpstream: true when a load balancer terminates TLS',
      );
    }
  }
  return warnings;
}
