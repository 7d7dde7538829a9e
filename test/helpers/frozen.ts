/*
 * For results a test helper memoizes (a pure function of its input, computed once per text and
 * handed to many tests): either frozen, so that a test that tried to change one would throw instead
 * of changing what the next test reads, or copied for each caller when tests change what they get.
 */

/** Freezes `value` and everything reachable from it, and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}

/**
 * A deep copy of plain data (plain objects, arrays, primitives), made in the caller's realm (jest's
 * structuredClone is the outer realm's). Anything else (a Date, a Map, a class instance) throws: such
 * a value cannot be memoized this way.
 */
export function copyOfPlainData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => copyOfPlainData(item)) as T;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw new TypeError(`copyOfPlainData: not plain data (${Object.prototype.toString.call(value)})`);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = copyOfPlainData(item);
  return copy as T;
}
