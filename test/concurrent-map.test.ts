import { mapConcurrently } from '../lib/concurrent-map';

/** A call that resolves when the test says so, recording how many run at once. */
function gate() {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const release = new Map<number, { resolve: (value: string) => void; reject: (error: Error) => void }>();
  const fn = (item: number) =>
    new Promise<string>((resolve, reject) => {
      started.push(item);
      running++;
      most = Math.max(most, running);
      release.set(item, {
        resolve: (value) => {
          running--;
          resolve(value);
        },
        reject: (error) => {
          running--;
          reject(error);
        },
      });
    });
  return { fn, started, release, most: () => most, running: () => running };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mapConcurrently', () => {
  it('runs at most `limit` calls at once and returns the results in the order of the items, not of completion', async () => {
    const calls = gate();
    const done = mapConcurrently([0, 1, 2, 3, 4, 5, 6], 3, calls.fn);
    await tick();
    expect(calls.started).toEqual([0, 1, 2]);
    // finished out of order: the next items start as slots free up
    for (const item of [2, 0, 1, 5, 3, 6, 4]) {
      await tick();
      const call = calls.release.get(item);
      if (!call) throw new Error(`item ${item} never started`);
      call.resolve(`r${item}`);
      await tick();
    }
    expect(await done).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(calls.most()).toBe(3);
  });

  it('starts nothing after a failure, waits for the calls already running, then throws the first error', async () => {
    const calls = gate();
    const done = mapConcurrently([0, 1, 2, 3, 4, 5], 2, calls.fn);
    const settled = done.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await tick();
    calls.release.get(0)!.reject(new Error('first failure'));
    await tick();
    calls.release.get(1)!.reject(new Error('second failure'));
    await tick();
    expect(calls.started).toEqual([0, 1]);
    expect(await settled).toBe('first failure');
    expect(calls.running()).toBe(0);
  });

  it('does not settle while a call started before the failure still runs', async () => {
    const calls = gate();
    let settled = false;
    const done = mapConcurrently([0, 1, 2], 2, calls.fn).catch((error: Error) => {
      settled = true;
      return error.message;
    });
    await tick();
    calls.release.get(0)!.reject(new Error('boom'));
    await tick();
    await tick();
    expect(settled).toBe(false); // item 1 is still running
    calls.release.get(1)!.resolve('late');
    expect(await done).toBe('boom');
    expect(calls.started).toEqual([0, 1]);
  });

  it('returns [] for no items, and refuses a limit that is not a whole number of at least 1', async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
    await expect(mapConcurrently([1], 0, async () => 1)).rejects.toThrow('limit must be a whole number of at least 1, not 0');
    await expect(mapConcurrently([1], 1.5, async () => 1)).rejects.toThrow('not 1.5');
  });
});
