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

/** Rekor v2's `--hostname`: the public hostname, else the in-cluster Service name (`rekor.<ns>.svc`). */
export function rekorV2Origin(config: OriginConfig): string {
  return config.services.rekor.hostname ?? `${SERVICE_NAMES.rekor}.${config.cluster.namespace}.svc`;
}

/** TesseraCT's `--origin`: `<public hostname or ctlog.<ns>.svc>/<prefix>`, the log URL without scheme. */
export function tesseractOrigin(config: OriginConfig): string {
  const host = config.services.ctlog.hostname ?? `${SERVICE_NAMES.ctlog}.${config.cluster.namespace}.svc`;
  return `${host}/${config.services.ctlog.prefix}`;
}
