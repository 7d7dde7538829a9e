import type { TufRoleName } from '../../config/schema';

/**
 * Where the TUF repository lives in the state (`.sigstore/<env>/tuf/`). The signed metadata is state,
 * not a build product: it changes only through `bootstrap` (version 1) and `tuf refresh`, and synth
 * copies `tuf/repository/` as it is into `dist/trust/tuf/`.
 *
 * - `tuf/keys/<role>.key.pem` + `.password`: the targets, snapshot and timestamp keys (encrypted).
 *   The root key is the signer's (`signer/tuf-root.key.pem` locally, or a KMS key).
 * - `tuf/repository/<version>.root.json`, `<version>.targets.json`, `<version>.snapshot.json`: one
 *   immutable item per version, never replaced (clients walk the root chain; old snapshot and
 *   targets versions keep serving clients that fetched the previous timestamp).
 * - `tuf/repository/timestamp.json`: the one item that is superseded on every refresh.
 * - `tuf/repository/targets/<sha256>.<name>`: target files, content-addressed and immutable.
 */
export const TUF_REPOSITORY_DIRECTORY = 'tuf/repository';

/** The roles whose keys live in the state (the root key is the signer's). */
export const ONLINE_ROLES = ['targets', 'snapshot', 'timestamp'] as const;
export type OnlineRoleName = (typeof ONLINE_ROLES)[number];

/** The state item of an online role's key. */
export function roleKeyItem(role: OnlineRoleName) {
  return {
    id: `tuf-${role}-key`,
    files: { privateKey: `tuf/keys/${role}.key.pem`, password: `tuf/keys/${role}.key.password` },
  } as const;
}

/** Versioned metadata (`root`, `targets`, `snapshot`): one immutable item per version. */
export function versionedMetadataItem(role: Exclude<TufRoleName, 'timestamp'>, version: number) {
  return { id: `tuf-${role}-v${version}`, files: { metadata: `${TUF_REPOSITORY_DIRECTORY}/${version}.${role}.json` } } as const;
}

/** `timestamp.json`: superseded in place by every new version. */
export const TIMESTAMP_ITEM = { id: 'tuf-timestamp', files: { metadata: `${TUF_REPOSITORY_DIRECTORY}/timestamp.json` } } as const;

/** A target file, stored under its consistent-snapshot name. */
export function targetFileItem(name: string, sha256: string) {
  return { id: `tuf-target-${sha256}.${name}`, files: { content: `${TUF_REPOSITORY_DIRECTORY}/targets/${sha256}.${name}` } } as const;
}

/** Item ids of every version of a versioned role present in the state, as numbers, ascending. */
export function versionsInState(itemIds: readonly string[], role: Exclude<TufRoleName, 'timestamp'>): number[] {
  const pattern = new RegExp(`^tuf-${role}-v([1-9][0-9]*)$`);
  return itemIds
    .map((id) => pattern.exec(id)?.[1])
    .filter((version): version is string => version !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}
