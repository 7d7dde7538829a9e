// Buffers compared byte for byte by Node (Buffer.equals) instead of jest's element-by-element walk of
// a typed array: the before/after tree comparisons hold whole states (3 s of one suite's CPU). Same
// answers: two Buffers are equal exactly when their bytes are. Anything else keeps jest's equality.
// (jest 30's expect has addEqualityTesters; @types/jest does not declare it.)
type Tester = (a: unknown, b: unknown) => boolean | undefined;
(expect as unknown as { addEqualityTesters(testers: Tester[]): void }).addEqualityTesters([(a, b) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : undefined)]);
