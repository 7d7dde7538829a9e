import type { KeyObject } from 'node:crypto';
import { SignerError } from '../errors';
import { curveOf, keyKindOf, type Curve } from './keys';

/** How an EC key of a given curve signs certificates: the hash, and the X.509 AlgorithmIdentifier. */
export interface EcdsaAlgorithm {
  readonly curve: Curve;
  readonly hash: 'SHA-256' | 'SHA-384';
  /** Node's name for the hash. */
  readonly nodeHash: 'sha256' | 'sha384';
  /** ecdsa-with-SHA256 / ecdsa-with-SHA384 (RFC 5758). */
  readonly oid: string;
}

const ALGORITHMS: Record<Curve, EcdsaAlgorithm> = {
  'P-256': { curve: 'P-256', hash: 'SHA-256', nodeHash: 'sha256', oid: '1.2.840.10045.4.3.2' },
  'P-384': { curve: 'P-384', hash: 'SHA-384', nodeHash: 'sha384', oid: '1.2.840.10045.4.3.3' },
};

export function ecdsaAlgorithmFor(publicKey: KeyObject, keyRef: string): EcdsaAlgorithm {
  const curve = curveOf(publicKey);
  if (!curve) {
    throw new SignerError('SIGNER_KEY_UNSUPPORTED', `signer ${keyRef} has an ${keyKindOf(publicKey)} key; expected an EC P-256 or P-384 key`);
  }
  return ALGORITHMS[curve];
}
