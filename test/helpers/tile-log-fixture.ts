import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { readTileLogKeys, TILE_LOG_KEY_ITEMS } from '../../lib/pki/tile-log-keys';
import { StateSnapshot } from '../../lib/state/store';

/** When the fixture tile-log keys were minted (test/fixtures/generate-tile-log-keys.ts). */
export const TILE_LOG_FIXTURE_TIME = new Date('2026-01-01T00:00:00Z');

const ROOT = join(__dirname, '..', 'fixtures', 'tile-log-keys');

/** The committed test-only Rekor v2 and TesseraCT keys, read (and checked) as the state reads them. */
export function fixtureTileLogKeys(): NonNullable<PkiMaterial['tileLogs']> {
  const snapshot = StateSnapshot.empty('fixture');
  for (const item of Object.values(TILE_LOG_KEY_ITEMS)) {
    const files = Object.fromEntries(Object.entries(item.files).map(([role, path]) => [role, { path, content: readFileSync(join(ROOT, path), 'utf8') }]));
    snapshot.addItem(item.id, { mintedAt: TILE_LOG_FIXTURE_TIME, files });
  }
  return readTileLogKeys(snapshot);
}

/** The fixture material with the tile-log keys added. */
export function withTileLogKeys(material: PkiMaterial): PkiMaterial {
  return { ...material, tileLogs: fixtureTileLogKeys() };
}

/** An environment with both logs on tiles (the fixture's other settings). */
export const TILES_YAML = `
logs: { rekor: v2, ct: tesseract }
`;

/** Both logs on tiles with public hostnames (the TSA's is then required). */
export const TILES_PUBLIC_YAML = `
logs: { rekor: v2, ct: tesseract, rekorStorage: { size: 20Gi, storageClassName: csi-disk }, ctStorage: { size: 5Gi } }
services:
  fulcio: { hostname: fulcio.example.com }
  rekor: { hostname: rekor.example.com }
  ctlog: { hostname: ctlog.example.com, prefix: forge }
  tsa: { hostname: tsa.example.com }
  tuf: { hostname: tuf.example.com }
`;
