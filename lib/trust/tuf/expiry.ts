import { addDuration, formatDuration } from '../../config/duration';
import { TUF_ROLES, type SigstoreConfig, type TufRoleName } from '../../config/schema';
import type { TufRepository } from './repository';

/** `valid`; `due` (expires within the role's refreshBefore window: `tuf refresh` re-signs it); `expired`. */
export type ExpiryStatus = 'valid' | 'due' | 'expired';

export interface RoleExpiry {
  readonly role: TufRoleName;
  readonly version: number;
  /** As written in the metadata (UTC, whole seconds). */
  readonly expires: string;
  readonly status: ExpiryStatus;
  /** Whole days left, rounded down (negative once expired). */
  readonly daysLeft: number;
  /** The role's refresh window from the configuration, e.g. `10d`. */
  readonly refreshBefore: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The status of metadata expiring at `expires`, at `now`. Expired from `expires` on, as tuf-js and go-tuf judge it. */
export function expiryStatus(expires: string, role: TufRoleName, config: SigstoreConfig, now: Date): ExpiryStatus {
  const end = new Date(expires).getTime();
  if (now.getTime() >= end) return 'expired';
  return addDuration(now, config.tuf.refreshBefore[role]).getTime() >= end ? 'due' : 'valid';
}

/** The expiry of each top-level role's current metadata, in the order clients update them. */
export function tufExpiryReport(repository: TufRepository, config: SigstoreConfig, now: Date): RoleExpiry[] {
  const current = { root: repository.root, timestamp: repository.timestamp, snapshot: repository.snapshot, targets: repository.targets };
  return TUF_ROLES.map((role) => {
    const { version, expires } = current[role].signed;
    return {
      role,
      version,
      expires,
      status: expiryStatus(expires, role, config, now),
      daysLeft: Math.floor((new Date(expires).getTime() - now.getTime()) / DAY_MS),
      refreshBefore: formatDuration(config.tuf.refreshBefore[role]),
    };
  });
}
