import type { SigstoreConfig } from '../../config/schema';
import { serviceUrls } from '../../config/service-urls';
import { publicKeyPem } from '../../pki/keys';
import { buildSigningConfig, serializeSigningConfig } from '../signing-config';
import { trustedRootContent } from '../trust-outputs';
import { transparencyLogs } from '../transparency-logs';
import type { PublicTrustMaterial } from '../trusted-root';

/** The `usage` values sigstore clients (cosign's legacy TUF path) select targets by. */
export type SigstoreTargetUsage = 'Fulcio' | 'CTFE' | 'Rekor' | 'TSA';

/** One file the TUF repository signs, with the sigstore custom metadata older clients read. */
export interface TufTarget {
  /** Target name: what clients ask for (`trusted_root.json`). */
  readonly name: string;
  readonly content: string;
  /** `{"sigstore": {"usage", "status", "uri"}}`, for the legacy per-key targets. @default - none */
  readonly custom?: { readonly sigstore: { readonly usage: SigstoreTargetUsage; readonly status: 'Active'; readonly uri: string } };
}

export const TRUSTED_ROOT_TARGET = 'trusted_root.json';
export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json';

/**
 * The targets of the repository, built from the trust material and the configuration:
 *
 * - `trusted_root.json` (the same bytes as `dist/trust/trusted_root.json`) and
 *   `signing_config.v0.2.json`, which current clients (cosign 2.4+/3, sigstore-js, sigstore-go) read;
 * - the legacy per-key targets, named as sigstore/root-signing and scaffolding name them, each with
 *   `custom.sigstore.usage` and `status: Active`: `fulcio_v1.crt.pem` (the Fulcio root),
 *   `fulcio_intermediate_v1.crt.pem`, `ctfe.pub`, `rekor.pub`, and the TSA chain split into
 *   `tsa_leaf.crt.pem`, `tsa_intermediate_0.crt.pem` and `tsa_root.crt.pem`.
 *
 * Deterministic, so `tuf refresh` publishes new targets only when the material or the URLs changed.
 */
export function buildTufTargets(material: PublicTrustMaterial, config: SigstoreConfig): TufTarget[] {
  const urls = serviceUrls(config);
  const legacy = (name: string, content: string, usage: SigstoreTargetUsage, uri: string): TufTarget => ({
    name,
    content,
    custom: { sigstore: { usage, status: 'Active', uri } },
  });
  const pem = (certificate: { toString(format: 'pem'): string }) => `${certificate.toString('pem')}\n`;
  const logs = transparencyLogs(material, config);
  return [
    { name: TRUSTED_ROOT_TARGET, content: trustedRootContent(material, config) },
    { name: SIGNING_CONFIG_TARGET, content: serializeSigningConfig(buildSigningConfig(material, config)) },
    legacy('fulcio_v1.crt.pem', pem(material.fulcio.root), 'Fulcio', urls.fulcio),
    legacy('fulcio_intermediate_v1.crt.pem', pem(material.fulcio.intermediate), 'Fulcio', urls.fulcio),
    legacy('ctfe.pub', publicKeyPem(logs.ctlog.publicKey), 'CTFE', urls.ctlog),
    legacy('rekor.pub', publicKeyPem(logs.rekor.publicKey), 'Rekor', urls.rekor),
    legacy('tsa_leaf.crt.pem', pem(material.tsa.leaf), 'TSA', urls.tsa),
    legacy('tsa_intermediate_0.crt.pem', pem(material.tsa.intermediate), 'TSA', urls.tsa),
    legacy('tsa_root.crt.pem', pem(material.tsa.root), 'TSA', urls.tsa),
  ];
}
