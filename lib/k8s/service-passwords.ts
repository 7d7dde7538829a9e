import { randomBytes } from 'node:crypto';
import { StateError } from '../errors';
import type { StateSnapshot, StateStore } from '../state/store';

/**
 * Passwords of the in-cluster backing services (MySQL's root and Trillian users, Redis). They are
 * random, minted once into the state like the keys (files 0600, listed in the manifest) and never
 * derived from anything else: MySQL takes its passwords only when it initializes its data directory,
 * so they must never change afterwards.
 */
export const SERVICE_PASSWORDS_ITEM = {
  id: 'service-passwords',
  files: {
    mysqlRootPassword: 'services/mysql-root.password',
    mysqlPassword: 'services/mysql-trillian.password',
    redisPassword: 'services/redis.password',
  },
} as const;

export interface ServicePasswords {
  /** MySQL `root` (in-cluster database only). */
  readonly mysqlRootPassword: string;
  /** MySQL user `trillian` (in-cluster database only). */
  readonly mysqlPassword: string;
  /** Redis `requirepass`, shared by Redis and Rekor. */
  readonly redisPassword: string;
}

/** 32 random bytes, base64url: safe in flags, environment variables and DSNs. */
function newServicePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Adds the passwords to the snapshot if it lacks them. Returns whether it added them. */
export function mintServicePasswords(snapshot: StateSnapshot, now: Date): boolean {
  if (snapshot.item(SERVICE_PASSWORDS_ITEM.id)) return false;
  const { files } = SERVICE_PASSWORDS_ITEM;
  snapshot.addItem(SERVICE_PASSWORDS_ITEM.id, {
    mintedAt: now,
    files: {
      mysqlRootPassword: { path: files.mysqlRootPassword, content: newServicePassword() },
      mysqlPassword: { path: files.mysqlPassword, content: newServicePassword() },
      redisPassword: { path: files.redisPassword, content: newServicePassword() },
    },
  });
  return true;
}

/** Reads the passwords; a state without them is incomplete (run bootstrap or synth). */
export function readServicePasswords(snapshot: StateSnapshot): ServicePasswords {
  if (!snapshot.item(SERVICE_PASSWORDS_ITEM.id)) {
    throw new StateError(
      'STATE_INCOMPLETE',
      `state for "${snapshot.env}" lacks ${SERVICE_PASSWORDS_ITEM.id} (the MySQL and Redis passwords); ` +
        `run "sigstore-cdk bootstrap --env ${snapshot.env}" (or "npm run synth" with the local signer)`,
    );
  }
  const read = (role: keyof typeof SERVICE_PASSWORDS_ITEM.files) => {
    const value = snapshot.file(SERVICE_PASSWORDS_ITEM.id, role).toString('utf8');
    if (!/^[A-Za-z0-9_-]{16,}$/.test(value)) {
      throw new StateError('STATE_CORRUPT', `${SERVICE_PASSWORDS_ITEM.files[role]} is not a password sigstore-cdk wrote (expected 16 or more base64url characters)`);
    }
    return value;
  };
  return { mysqlRootPassword: read('mysqlRootPassword'), mysqlPassword: read('mysqlPassword'), redisPassword: read('redisPassword') };
}

/**
 * Under the state lock: loads the state, adds the service passwords if missing, commits. Returns the
 * passwords and whether they were minted now.
 */
export async function ensureServicePasswords(store: StateStore, clock: () => Date): Promise<{ passwords: ServicePasswords; minted: boolean }> {
  return store.withLock(async () => {
    const snapshot = await store.load();
    const minted = mintServicePasswords(snapshot, clock());
    await store.commit(snapshot);
    return { passwords: readServicePasswords(snapshot), minted };
  });
}
