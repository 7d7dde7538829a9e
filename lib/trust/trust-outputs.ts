import type { SigstoreConfig } from '../config/schema';
import { memoizedByMaterialAndConfig } from './memo';
import { serviceUrls } from '../config/service-urls';
import { publicKeyPem } from '../pki/keys';
import { transparencyLogs } from './transparency-logs';
import { buildTrustedRoot, serializeTrustedRoot, type PublicTrustMaterial } from './trusted-root';

/** A file of the public output, relative to `dist/`. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
  /** File mode. @default 0o644 (public); 0o600 for anything holding key material or passwords */
  readonly mode?: number;
}

/** Directory of the public trust outputs inside `dist/`. */
export const TRUST_DIRECTORY = 'trust';

/**
 * The public trust outputs (`dist/trust/`): trusted_root.json, the Fulcio chain (intermediate first,
 * root last), the TSA chain (leaf first, root last) and the two log public keys. Public material only.
 */
export function trustOutputFiles(material: PublicTrustMaterial, config: SigstoreConfig): OutputFile[] {
  const pem = (certificates: { toString(format: 'pem'): string }[]) => certificates.map((certificate) => `${certificate.toString('pem')}\n`).join('');
  const logs = transparencyLogs(material, config);
  return [
    { path: `${TRUST_DIRECTORY}/trusted_root.json`, content: trustedRootContent(material, config) },
    { path: `${TRUST_DIRECTORY}/fulcio-chain.pem`, content: pem([material.fulcio.intermediate, material.fulcio.root]) },
    { path: `${TRUST_DIRECTORY}/tsa-chain.pem`, content: pem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root]) },
    // The keys of the logs the environment runs (Rekor v2's and TesseraCT's when configured).
    { path: `${TRUST_DIRECTORY}/ctlog.pub`, content: publicKeyPem(logs.ctlog.publicKey) },
    { path: `${TRUST_DIRECTORY}/rekor.pub`, content: publicKeyPem(logs.rekor.publicKey) },
  ];
}

/** The bytes of `trusted_root.json`, the same in `dist/trust/` and as the TUF target. */
export const trustedRootContent: (material: PublicTrustMaterial, config: SigstoreConfig) => string = memoizedByMaterialAndConfig((material, config) =>
  serializeTrustedRoot(buildTrustedRoot({ material, urls: serviceUrls(config), organization: config.organization, logs: transparencyLogs(material, config) })),
);
