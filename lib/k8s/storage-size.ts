import { Size } from 'cdk8s';

/**
 * A PersistentVolumeClaim's storage size as cdk8s's Size, from a value `storageQuantityProblem`
 * (lib/config/field-rules.ts) accepted: at most six digits and Mi, Gi or Ti.
 */
export function storageSize(text: string): Size {
  const amount = Number(text.slice(0, -2));
  switch (text.slice(-2)) {
    case 'Mi':
      return Size.mebibytes(amount);
    case 'Gi':
      return Size.gibibytes(amount);
    default:
      return Size.tebibytes(amount);
  }
}
