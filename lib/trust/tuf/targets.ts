import type { SigstoreConfig } from '../../config/schema';
import { serviceUrls } from '../../config/service-urls';
import { publicKeyPem } from '../../pki/keys';
import { buildSigningConfig, serializeSigningConfig } from '../signing-config';
import { trustedRootContent } from '../trust-outputs';
import { transparencyLogs } from '../transparency-logs';
import { memoizedByMaterialAndConfig } from '../memo';
import { trustHistoryOf, type PublicTrustMaterial } from '../trusted-root';

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
 * Every generation is published (generation 2 of the TSA leaf as `tsa_leaf_g2.crt.pem`); all stay
 * `Active`, because legacy clients have no `validFor` and must still verify what an older generation
 * signed. Deterministic, so `tuf refresh` publishes new targets only when the material or the URLs changed.
 */
export function buildTufTargets(material: PublicTrustMaterial, config: SigstoreConfig): TufTarget[] {
  // A fresh array each call; the targets in it are readonly and shared.
  return [...tufTargetsOf(material, config)];
}

const tufTargetsOf = memoizedByMaterialAndConfig((material: PublicTrustMaterial, config: SigstoreConfig): readonly TufTarget[] => {
  const urls = serviceUrls(config);
  const legacy = (name: string, content: string, usage: SigstoreTargetUsage, uri: string): TufTarget => ({
    name,
    content,
    custom: { sigstore: { usage, status: 'Active', uri } },
  });
  const pem = (certificate: { toString(format: 'pem'): string }) => `${certificate.toString('pem')}\n`;
  const history = trustHistoryOf(material);
  const logs = transparencyLogs(material, config);
  // A tile-based log (it has an origin) has one key; a Trillian-backed log one per generation (shard).
  // After a migration the Trillian-backed log keeps its published targets and the tile-based one is
  // added as `<name>_<server>.pub` (`rekor_v2.pub`, `ctfe_tesseract.pub`): published targets only grow.
  const logTargets = (log: typeof logs.rekor, keys: typeof history.rekorKeys, name: string, usage: SigstoreTargetUsage, uri: string, migration?: { suffix: string; uri: string }) => {
    const trillian = () => each(keys, name, (entry) => publicKeyPem(entry.publicKey), usage, uri);
    if (!log.origin) return trillian();
    if (!migration) return [legacy(name, publicKeyPem(log.publicKey), usage, uri)];
    const dot = name.indexOf('.');
    return [...trillian(), legacy(`${name.slice(0, dot)}_${migration.suffix}${name.slice(dot)}`, publicKeyPem(log.publicKey), usage, migration.uri)];
  };
  const each = <T extends { generation: number }>(list: readonly T[], name: string, content: (entry: T) => string, usage: SigstoreTargetUsage, uri: string) =>
    list.map((entry) => legacy(generationTargetName(name, entry.generation), content(entry), usage, uri));
  return [
    { name: TRUSTED_ROOT_TARGET, content: trustedRootContent(material, config) },
    { name: SIGNING_CONFIG_TARGET, content: serializeSigningConfig(buildSigningConfig(material, config)) },
    ...each(history.fulcioRoots, 'fulcio_v1.crt.pem', (entry) => pem(entry.certificate), 'Fulcio', urls.fulcio),
    ...each(history.fulcioIntermediates, 'fulcio_intermediate_v1.crt.pem', (entry) => pem(entry.certificate), 'Fulcio', urls.fulcio),
    ...logTargets(logs.ctlog, history.ctlogKeys, 'ctfe.pub', 'CTFE', urls.ctlog, logs.migrated.ctlog && { suffix: 'tesseract', uri: logs.ctlog.baseUrl }),
    ...logTargets(logs.rekor, history.rekorKeys, 'rekor.pub', 'Rekor', urls.rekor, logs.migrated.rekor && { suffix: 'v2', uri: logs.rekor.baseUrl }),
    ...each(history.tsaLeaves, 'tsa_leaf.crt.pem', (entry) => pem(entry.certificate), 'TSA', urls.tsa),
    ...each(history.tsaIntermediates, 'tsa_intermediate_0.crt.pem', (entry) => pem(entry.certificate), 'TSA', urls.tsa),
    ...each(history.tsaRoots, 'tsa_root.crt.pem', (entry) => pem(entry.certificate), 'TSA', urls.tsa),
  ];
});

/**
 * The legacy target name of generation `generation`: generation 1 keeps the name it was published
 * under (`tsa_leaf.crt.pem`); later ones add `_g<N>` before the extension (`tsa_leaf_g2.crt.pem`), so
 * a rotation only adds targets and never changes a published one.
 */
export function generationTargetName(name: string, generation: number): string {
  if (generation === 1) return name;
  const dot = name.indexOf('.');
  return `${name.slice(0, dot)}_g${generation}${name.slice(dot)}`;
}

