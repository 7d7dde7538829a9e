import type { Construct } from 'constructs';
import { isDnsLabel, REPLICAS_RANGE, type FieldRule } from '../config/field-rules';
import { ChartError } from '../errors';

/*
 * Constructor-time checks of construct props. Each throws a ChartError that names the construct path,
 * the prop, the value and what would be accepted.
 */

/** Throws a ChartError naming the construct, the prop and the value, unless `ok`. */
export function requireProp(scope: Construct, ok: boolean, prop: string, value: unknown, expected: string): void {
  if (!ok) {
    throw new ChartError('CHART_PROPS_INVALID', `${scope.node.path}: ${prop} ${JSON.stringify(value)} is invalid; expected ${expected}`);
  }
}

/**
 * Throws a ChartError naming the construct, the prop and the value, unless `rule` (one of
 * lib/config/field-rules.ts, which the configuration schema applies too) accepts the value.
 */
export function requireRule(scope: Construct, prop: string, value: string, rule: FieldRule): void {
  const problem = typeof value === 'string' ? rule(value) : 'expected a string';
  if (problem) throw new ChartError('CHART_PROPS_INVALID', `${scope.node.path}: ${prop} ${JSON.stringify(value)} is invalid; ${problem}`);
}

/** Replicas: a whole number from 1 to 20 (the configuration's range). */
export function requireReplicas(scope: Construct, prop: string, value: number): void {
  const { min, max } = REPLICAS_RANGE;
  requireProp(scope, Number.isInteger(value) && value >= min && value <= max, prop, value, `a whole number from ${min} to ${max}`);
}

/** A Kubernetes object name (DNS-1123 label). */
export function requireName(scope: Construct, prop: string, value: string): void {
  requireProp(scope, isDnsLabel(value), prop, value, 'a DNS-1123 label (lowercase letters, digits, "-", at most 63)');
}

/** A pinned image reference (`…@sha256:<64 hex>`). */
export function requirePinnedImage(scope: Construct, prop: string, value: string): void {
  requireProp(scope, /@sha256:[0-9a-f]{64}$/.test(value), prop, value, 'an image reference pinned by digest ("…@sha256:<64 hex digits>")');
}
