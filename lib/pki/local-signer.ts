import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { publicKeyOf } from './keys';
import type { Signer } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';

/**
 * Signs with a private key held in memory (loaded from the state directory). The embedded default
 * signer: no cloud account needed. Its `keyRef` is `local:<path of the key in the state>`.
 */
export class LocalSigner implements Signer {
  readonly keyRef: string;
  private readonly publicKeyObject: KeyObject;

  constructor(
    private readonly privateKey: KeyObject,
    /** Where the key lives in the state, e.g. `signer/fulcio-root.key.pem`. */
    statePath: string,
    /** The key reference. @default `local:<statePath>` */
    keyRef?: string,
  ) {
    this.keyRef = keyRef ?? `local:${statePath}`;
    this.publicKeyObject = publicKeyOf(privateKey);
    ecdsaAlgorithmFor(this.publicKeyObject, this.keyRef);
  }

  async publicKey(): Promise<KeyObject> {
    return this.publicKeyObject;
  }

  async sign(data: Uint8Array, _purpose: string): Promise<Buffer> {
    const algorithm = ecdsaAlgorithmFor(this.publicKeyObject, this.keyRef);
    return nodeSign(algorithm.nodeHash, data, { key: this.privateKey, dsaEncoding: 'der' });
  }
}
