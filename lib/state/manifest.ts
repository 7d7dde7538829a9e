import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'sigstore-cdk/state/v1';

const statePath = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/, { error: 'expected a relative path inside the state directory' });

const item = z.strictObject({
  /** When it was minted (ISO 8601, from the injected clock). */
  mintedAt: z.iso.datetime(),
  /** The key that signed it (a key reference such as `local:signer/fulcio-root.key.pem` or `otc-kms:<id>`), if any. */
  signedBy: z.string().optional(),
  /** Files that make up the item, by role (`certificate`, `privateKey`, `password`, `publicKey`). */
  files: z.record(z.string(), statePath),
});

/** `.sigstore/<env>/manifest.json`: what was minted, when and by which signer, and each file's hash. */
export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  env: z.string(),
  items: z.record(z.string(), item),
  /** SHA-256 (hex) of every file in the state except the manifest and the ceremony log. */
  files: z.record(statePath, z.string().regex(/^[0-9a-f]{64}$/)),
});

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestItem = z.output<typeof item>;

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
