import type { Construct } from 'constructs';
import { CloudError } from '../errors';

/** Throws the error a construct raises for bad props: its path, the prop, the value and what is accepted. */
export function invalidProps(scope: Construct, prop: string, value: unknown, expected: string): never {
  throw new CloudError('CLOUD_PROPS_INVALID', `${scope.node.path}: ${prop} ${JSON.stringify(value)} is invalid: expected ${expected}`);
}

/** Returns `value` when it is a whole number in [min, max]; otherwise throws as invalidProps does. */
export function wholeNumberIn(scope: Construct, prop: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) invalidProps(scope, prop, value, `a whole number from ${min} to ${max}`);
  return value;
}
