import { createHash, type KeyObject } from 'node:crypto';
import type { Signer } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';

/** One line of `.sigstore/<env>/ceremony.jsonl`: a root-key signature. No secret is ever recorded. */
export interface CeremonyRecord {
  readonly time: string;
  readonly env: string;
  readonly keyRef: string;
  readonly purpose: string;
  readonly digestAlgorithm: 'SHA-256' | 'SHA-384';
  /** Hex digest of the signed bytes (for a certificate: of its TBSCertificate). */
  readonly digest: string;
  /** Who ran the ceremony (`SIGSTORE_CDK_OPERATOR`, else the OS user). */
  readonly operator: string;
}

export interface CeremonyLogOptions {
  readonly env: string;
  readonly operator: string;
  readonly clock: () => Date;
  /** Appends one record durably (StateStore.appendCeremonyLog). */
  readonly append: (record: CeremonyRecord) => Promise<void>;
}

/**
 * Wraps a signer so that every signature is recorded before it is used (CTS does not record KMS sign
 * calls, so the ceremony keeps its own log). A failed signature is not recorded: it produced nothing.
 */
export function withCeremonyLog(signer: Signer, options: CeremonyLogOptions): Signer {
  let publicKey: KeyObject | undefined;
  return {
    keyRef: signer.keyRef,
    publicKey: async () => (publicKey ??= await signer.publicKey()),
    async sign(data, purpose) {
      const signature = await signer.sign(data, purpose);
      publicKey ??= await signer.publicKey();
      const algorithm = ecdsaAlgorithmFor(publicKey, signer.keyRef);
      await options.append({
        time: options.clock().toISOString(),
        env: options.env,
        keyRef: signer.keyRef,
        purpose,
        digestAlgorithm: algorithm.hash,
        digest: createHash(algorithm.nodeHash).update(data).digest('hex'),
        operator: options.operator,
      });
      return signature;
    },
  };
}
