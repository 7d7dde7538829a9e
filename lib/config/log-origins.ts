import { MIGRATED_LOG_NAMES, migratedCtPrefix } from '../lifecycle/log-migrations';
import type { SigstoreConfig } from './schema';
import { SERVICE_NAMES } from './service-urls';

/*
 * The checkpoint origins of the tile-based logs. Each must equal its log's URL without the scheme,
 * because clients match the checkpoint signer's name against the trusted log's `baseUrl`
 * (@sigstore/verify dist/tlog/checkpoint.js: `tlog.baseURL.match(signature.name)`) and static-ct-api
 * requires the origin to be the submission prefix (tesseract v0.1.1 cmd/tesseract/posix/main.go,
 * `--origin`: "This MUST match the log's submission prefix"). The same strings go into the servers'
 * flags (lib/k8s/rekor-tiles.ts, lib/k8s/tesseract.ts) and into trusted_root.json.
 */

type OriginConfig = Pick<SigstoreConfig, 'services' | 'cluster'>;

/**
 * Rekor v2's `--hostname`: the public hostname, else the in-cluster Service name (`rekor.<ns>.svc`;
 * `rekor-tiles.<ns>.svc` for a Rekor v2 that replaced Rekor v1, which keeps the Service `rekor`:
 * lib/lifecycle/log-migrations.ts). A public Rekor v2 beside Rekor v1 shares the hostname: the
 * Ingress sends `/api/v2` to it.
 */
export function rekorV2Origin(config: OriginConfig, migrated = false): string {
  return config.services.rekor.hostname ?? `${migrated ? MIGRATED_LOG_NAMES.rekor : SERVICE_NAMES.rekor}.${config.cluster.namespace}.svc`;
}

/** TesseraCT's URL prefix: the configured one, `<prefix>-tiles` for a TesseraCT that replaced ct_server. */
export function tesseractPrefix(config: OriginConfig, migrated = false): string {
  return migrated ? migratedCtPrefix(config.services.ctlog.prefix) : config.services.ctlog.prefix;
}

/**
 * TesseraCT's `--origin`: `<public hostname or ctlog.<ns>.svc>/<prefix>`, the log URL without scheme
 * (a migrated TesseraCT: `ctlog-tiles.<ns>.svc` and `<prefix>-tiles`).
 */
export function tesseractOrigin(config: OriginConfig, migrated = false): string {
  const host = config.services.ctlog.hostname ?? `${migrated ? MIGRATED_LOG_NAMES.ctlog : SERVICE_NAMES.ctlog}.${config.cluster.namespace}.svc`;
  return `${host}/${tesseractPrefix(config, migrated)}`;
}

/** The URL of a tile-based log: `https://<origin>` with a public hostname, else `http://<origin>` (the Service's port 80). */
export function tileLogBaseUrl(config: OriginConfig, log: 'rekor' | 'ctlog', origin: string): string {
  return `${config.services[log].hostname ? 'https' : 'http'}://${origin}`;
}
