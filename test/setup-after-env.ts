import { expect } from '@jest/globals';

// Buffers compared byte for byte by Node (Buffer.equals) instead of jest's element-by-element walk of
// a typed array: the before/after tree comparisons hold whole states (3 s of one suite's CPU). Same
// answers: two Buffers are equal exactly when their bytes are. Anything else keeps jest's equality.
expect.addEqualityTesters([(a: unknown, b: unknown) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : undefined)]);
