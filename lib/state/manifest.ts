import * as z from 'zod';

export const MANIFEST_FILE = 'manifest.json';
/** The format this version writes: pinned root keys, the ceremony log's head, the published marker. */
export const MANIFEST_FORMAT = 'sigstore-cdk/state/v2';
/** The format of states minted before root keys were pinned; read only by `sigstore-cdk state upgrade`. */
export const LEGACY_MANIFEST_FORMAT = 'sigstore-cdk/state/v1';

const statePath = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/, { error: 'expected a relative path inside the state directory' });

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a hex SHA-256' });

const item = z.strictObject({
  /** When it was minted (ISO 8601, from the injected clock). */
  mintedAt: z.iso.datetime(),
  /**
   * The key that signed it (a key reference such as `local:signer/fulcio-root.key.pem` or `otc-kms:<id>`), if any;
   * for a TUF root version signed by several keys, their references joined by `,`, in signing order.
   */
  signedBy: z.string().optional(),
  /**
   * Files that make up the item, by role (`certificate`, `privateKey`, `password`, `publicKey`;
   * `dataKey` for `kms-data-key`). In an otc-kms state every `*.password` file is sealed under the
   * KMS data key of `kms/data-key.json` (lib/state/password-envelope.ts); the hashes below cover the
   * sealed bytes, so the format needs no change: an older reader fails to decrypt a key (refusing the
   * state) before it could write anything.
   */
  files: z.record(z.string(), statePath),
});

/** A root's signing key as it was when the root was minted: never changes afterwards. */
const rootKeyPin = z.strictObject({
  /** The key reference the root's items are `signedBy` (`otc-kms:<key id>`, `local:signer/…`). */
  keyRef: z.string(),
  /** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo. */
  spkiSha256: sha256Hex,
  /** When the key was pinned (the root's mint time, or the upgrade of a v1 state). */
  pinnedAt: z.iso.datetime(),
});

/**
 * One generation of the TUF root role's keys: the keys root versions from `firstVersion` on name for
 * the root role, and how many of them must sign. Generation 1 is what bootstrap created; each
 * `rotate tuf-root` adds the next. Never changed or removed once recorded.
 */
const tufRootKeyGeneration = z.strictObject({
  /** 1, 2, …: one more per rotation. */
  generation: z.number().int().min(1),
  /** The first root version (`N.root.json`) whose root role is these keys. */
  firstVersion: z.number().int().min(1),
  /** Signatures of these keys a root version needs. */
  threshold: z.number().int().min(1),
  /** The keys, each pinned as a root key is (key reference, SPKI SHA-256, when pinned). */
  keys: z.array(rootKeyPin).min(1),
});

/** The last ceremony log line the state vouches for; lines after it (a run that stopped before committing) are allowed. */
const ceremonyLogHead = z.strictObject({
  /** How many lines the log had at the commit. */
  records: z.number().int().min(1),
  /** SHA-256 (hex) of line `records` (its bytes without the newline). */
  head: sha256Hex,
});

/**
 * One generation after the first of a rotated item (`sigstore-cdk rotate`): generation 1 is the item
 * bootstrap minted (`tsa-leaf`); generation N is the state item `<item>-g<N>`. Never removed.
 */
const generationRecord = z.strictObject({
  /** 2, 3, …: one more than the previous record. */
  generation: z.number().int().min(2),
  /** The state item holding it (`tsa-leaf-g2`). */
  itemId: z.string(),
  /** The cut-over: from then on servers use this generation (`synth` renders its Secrets). */
  activeFrom: z.iso.datetime(),
  /** The end of the previous generation's `validFor` in trusted_root.json (the cut-over plus the overlap). */
  previousValidUntil: z.iso.datetime(),
  /** The generation of the issuing item (the TSA intermediate of a TSA leaf); absent for roots and log keys. */
  issuerGeneration: z.number().int().min(1).optional(),
  /** For a root: its signing key, pinned when it was minted (as `rootKeys` pins generation 1). */
  rootKey: rootKeyPin.optional(),
});

const common = {
  env: z.string(),
  items: z.record(z.string(), item),
  /** SHA-256 (hex) of every file in the state except the manifest and the ceremony log. */
  files: z.record(statePath, sha256Hex),
};

/** `.sigstore/<env>/manifest.json` as written by sigstore-cdk before root keys were pinned. */
export const legacyManifestSchema = z.strictObject({ format: z.literal(LEGACY_MANIFEST_FORMAT), ...common });

/**
 * `.sigstore/<env>/manifest.json`: what was minted, when and by which signer, each file's hash, the
 * public key each root was minted with, the ceremony log's head and whether the trust material has
 * been published.
 */
export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  ...common,
  /** The public key of each root's signer, pinned when the root was minted. */
  rootKeys: z.strictObject({ fulcio: rootKeyPin.optional(), tsa: rootKeyPin.optional(), tuf: rootKeyPin.optional() }),
  /**
   * Set by the commit that first made the state complete (PKI, TUF repository, service passwords):
   * from then on the trust material is public and a missing item is corruption, never minted again.
   */
  publishedAt: z.iso.datetime().optional(),
  /** The ceremony log as of this commit. Absent while nothing has been signed. */
  ceremonyLog: ceremonyLogHead.optional(),
  /**
   * The generations after the first, by item (`fulcio-root`, `fulcio-intermediate`, `tsa-root`,
   * `tsa-intermediate`, `tsa-leaf`, `ctlog-key`, `rekor-key`), ascending. Absent until the first
   * rotation; added in sigstore-cdk/state/v2 without a format change (older readers refuse it as an
   * unknown field, so a rotated state is never read by a version that would ignore its generations).
   */
  generations: z.record(z.string(), z.array(generationRecord)).optional(),
  /**
   * Every generation of the TUF root keys, oldest first. Absent until the first `rotate tuf-root`
   * (or a bootstrap with several root keys): then generation 1 is `rootKeys.tuf` alone, threshold 1,
   * from version 1. Additive: `rootKeys.tuf` stays generation 1's first key.
   */
  tufRootKeyGenerations: z.array(tufRootKeyGeneration).min(1).optional(),
});

export type Manifest = z.output<typeof manifestSchema>;
export type LegacyManifest = z.output<typeof legacyManifestSchema>;
export type ManifestItem = z.output<typeof item>;
export type RootKeyPin = z.output<typeof rootKeyPin>;
export type CeremonyLogHead = z.output<typeof ceremonyLogHead>;
export type GenerationRecord = z.output<typeof generationRecord>;
export type TufRootKeyGeneration = z.output<typeof tufRootKeyGeneration>;

/** Stable bytes: keys sorted at every level, two-space indent, trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(sortKeys(manifest), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
