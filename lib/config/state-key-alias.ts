import type { SigstoreConfig } from './schema';

/**
 * The alias of the symmetric KMS key that wraps an otc-kms environment's data key (the sealed
 * passwords of its state, lib/state/password-envelope.ts): `otc.kms.stateKeyAlias`, or its default
 * `sigstore-<env>-state`. Read by the CLI, the keyring and the cloud stack (which looks the key up).
 */
export function stateKeyAliasOf(config: Pick<SigstoreConfig, 'env' | 'otc'>): string {
  return config.otc?.kms.stateKeyAlias ?? `sigstore-${config.env}-state`;
}
