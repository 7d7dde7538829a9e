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
