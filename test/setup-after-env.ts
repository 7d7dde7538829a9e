/*
 * Buffers compare by their bytes in one call (Buffer#equals) instead of element by element through
 * jest's iterable equality: the same answer, without a JavaScript step per byte. The tests compare
 * whole state trees and outputs before and after (readTree, fileContents): hundreds of kilobytes each.
 * Any other pair falls through to jest's own equality (undefined).
 */
type Tester = (a: unknown, b: unknown) => boolean | undefined;
// expect.addEqualityTesters is jest's (expect/build/index.d.ts); @types/jest 30.0.0 does not declare it.
(expect as unknown as { addEqualityTesters(testers: Tester[]): void }).addEqualityTesters([(a, b) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : undefined)]);
