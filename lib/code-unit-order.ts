/**
 * Order by UTF-16 code unit: the same on every machine and locale, and what "sorted" means for a
 * signed request or a file list. Not `localeCompare`: its first call in a process loads ICU's
 * collator (about 13 ms, measured on the 2-core machine), and its order depends on the locale.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `compareCodeUnits` on the keys of `[key, value]` entries. */
export function compareEntryKeys(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return compareCodeUnits(a[0], b[0]);
}
