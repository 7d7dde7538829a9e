/** Everything jest can fake except Date: timers, ticks and the event loop stay real (HTTP keeps working). */
const REAL = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

/**
 * Sets the wall clock that code under test reads with `new Date()` (tuf-js judges expiry by it and
 * takes no clock), for the rest of the test file. Restore with `jest.useRealTimers()`.
 */
export function setWallClock(iso: string): void {
  jest.useFakeTimers({ now: new Date(iso), doNotFake: [...REAL] });
}
