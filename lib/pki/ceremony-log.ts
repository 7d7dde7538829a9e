import { createHash, type KeyObject } from 'node:crypto';
import { userInfo } from 'node:os';
import type { StateSnapshot, StateStore } from '../state/store';
import type { RootKeyProvider, RootName } from './root-keys';
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
  /** What a remote signer reported (KMS key id, algorithm, request sequence and id). Absent for local keys. */
  readonly receipt?: Readonly<Record<string, string>>;
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
      const { signature, receipt } = signer.signWithReceipt
        ? await signer.signWithReceipt(data, purpose)
        : { signature: await signer.sign(data, purpose), receipt: undefined };
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
        ...(receipt ? { receipt } : {}),
      });
      return signature;
    },
  };
}

export interface CeremonySignersOptions {
  readonly rootKeys: RootKeyProvider;
  readonly snapshot: StateSnapshot;
  /** Its ceremony log receives the records. */
  readonly store: StateStore;
  readonly clock: () => Date;
  /** Recorded in the ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER, else the OS account name */
  readonly operator?: string;
}

/**
 * The root keys of one run, each asked for once and only when first needed (a KMS key is never
 * touched by a run that signs nothing with it), each wrapped in the ceremony log.
 */
export function ceremonySigners(options: CeremonySignersOptions): (root: RootName) => Promise<Signer> {
  const { store, clock } = options;
  const operator = options.operator ?? process.env.SIGSTORE_CDK_OPERATOR ?? process.env.USER ?? osUserName();
  const signers = new Map<RootName, Promise<Signer>>();
  return (root) => {
    let signer = signers.get(root);
    if (!signer) {
      signer = options.rootKeys
        .signerFor(root, options.snapshot, clock())
        .then((inner) => withCeremonyLog(inner, { env: store.env, operator, clock, append: (record) => store.appendCeremonyLog(record) }));
      signers.set(root, signer);
    }
    return signer;
  };
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
