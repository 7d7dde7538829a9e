import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../lib/state/store';
import { deadPid } from '../helpers/cli-process';
import { FIXTURE_ENV, copyFixtureState } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

/** An hour before now: far beyond any staleness threshold. */
const LONG_AGO = () => new Date(Date.now() - 3600_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the state lock', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let lockPath: string;
  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
    lockPath = join(stateRoot, `${FIXTURE_ENV}.lock`);
  });
  const store = (lock?: object) => new StateStore({ root: stateRoot, env: FIXTURE_ENV, ...(lock ? { lock } : {}) } as ConstructorParameters<typeof StateStore>[0]);
  const plant = (content: string, mtime?: Date) => {
    writeFileSync(lockPath, content);
    if (mtime) utimesSync(lockPath, mtime, mtime);
  };
  /** A run that must write (it takes the lock). */
  const writer = (lock?: object) => store(lock).withLock(async () => 'ran');

  it('lets one run at a time in when many take over a dead run lock at once, and the others wait their turn', async () => {
    plant(JSON.stringify({ pid: deadPid(), host: hostname(), since: '2026-01-01T00:00:00Z' }), LONG_AGO());
    let inside = 0;
    let most = 0;
    const entered: number[] = [];
    const runs = Array.from({ length: 8 }, (_, index) =>
      store({ waitMs: 20_000 }).withLock(async () => {
        inside++;
        most = Math.max(most, inside);
        entered.push(index);
        await sleep(20);
        inside--;
      }),
    );
    const results = await Promise.allSettled(runs);
    expect(results.map((result) => result.status)).toEqual(Array(8).fill('fulfilled'));
    expect(most).toBe(1);
    expect(entered.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(existsSync(lockPath)).toBe(false);
  });

  it.each([
    ['empty (a run killed between creating and writing it)', ''],
    ['garbage', '{"pid": '],
    ['of a pid on another host', JSON.stringify({ pid: process.pid, host: 'another-container', since: '2026-01-01T00:00:00Z' })],
    [
      'of a pid that is alive here but belongs to another container with the same hostname',
      JSON.stringify({ pid: 1, host: hostname(), since: '2026-01-01T00:00:00Z', token: 'f'.repeat(32), bootId: 'another-boot', pidNamespace: 'pid:[1]' }),
    ],
  ])('takes over a lock file that is %s once it has not been refreshed for longer than the stale threshold', async (_, content) => {
    plant(content, LONG_AGO());
    await expect(writer({ waitMs: 2_000 })).resolves.toBe('ran');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over a recent lock from another host once this run has watched it unrefreshed for the stale threshold (its own clock)', async () => {
    plant(JSON.stringify({ pid: 4242, host: 'another-container', since: '2026-01-01T00:00:00Z' }));
    await expect(writer({ waitMs: 10_000, staleMs: 300 })).resolves.toBe('ran');
  });

  it('never takes over a lock whose holder keeps refreshing it, however long it holds it', async () => {
    const order: string[] = [];
    // Holder and waiter share this process's event loop: a stall longer than the stale threshold (GC,
    // a loaded 2-core CI machine running other suites) would starve the heartbeat and look like a dead
    // holder. 1.5 s leaves room for that and still proves the point: held ~1.7x the threshold.
    const holding = store({ refreshMs: 50 }).withLock(async () => {
      order.push('first in');
      await sleep(2_500);
      order.push('first out');
    });
    await sleep(50);
    await store({ waitMs: 10_000, staleMs: 1_500 }).withLock(async () => {
      order.push('second in');
    });
    await holding;
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('keeps two concurrent withLock calls on one StateStore apart', async () => {
    const shared = store();
    let inside = 0;
    let most = 0;
    await Promise.all(
      [1, 2, 3].map(() =>
        shared.withLock(async () => {
          most = Math.max(most, ++inside);
          await sleep(30);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('waits for a live run, bounded, then fails naming the holder (pid, host, since) and what to do', async () => {
    plant(JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    const started = process.hrtime.bigint();
    await expect(writer({ waitMs: 300 })).rejects.toMatchObject({
      code: 'STATE_LOCKED',
      exitCode: 3,
      message: expect.stringMatching(new RegExp(`locked by pid ${process.pid} on ${hostname()} since 2026-01-01T00:00:00Z.*${lockPath.replace(/[.]/g, '\\.')}`, 's')),
    });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(10_000);
    expect(readFileSync(lockPath, 'utf8')).toContain(`"pid":${process.pid}`); // a live run's lock is never touched
  });

  it('waits for a fresh lock from another host (whose pid cannot be checked from here) and does not take it over', async () => {
    plant(JSON.stringify({ pid: 4242, host: 'another-container', since: '2026-01-01T00:00:00Z' }));
    await expect(writer({ waitMs: 300 })).rejects.toMatchObject({ code: 'STATE_LOCKED', message: expect.stringContaining('pid 4242 on another-container') });
  });

  it('gets the lock once the holder releases it while this run waits', async () => {
    const first = store();
    let release!: () => void;
    const holding = first.withLock(() => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    const second = writer({ waitMs: 20_000 });
    await sleep(200);
    release();
    await holding;
    await expect(second).resolves.toBe('ran');
  });

  it('makes a holder whose lock was taken over abort before it commits, leaving the winner state as it is', async () => {
    const loser = store();
    const before = readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8');
    const attempt = loser.withLock(async () => {
      const snapshot = await loser.load();
      snapshot.addItem('extra', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'extra.txt', content: 'x' } } });
      // Another run decided the lock was stale and took it over.
      writeFileSync(lockPath, JSON.stringify({ pid: 4243, host: 'another-container', since: '2026-01-01T00:00:01Z', token: 'e'.repeat(32) }));
      await loser.commit(snapshot);
    });
    await expect(attempt).rejects.toMatchObject({ code: 'STATE_LOCK_LOST', exitCode: 3, message: expect.stringContaining('pid 4243 on another-container') });
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8')).toBe(before);
    expect(existsSync(join(stateRoot, FIXTURE_ENV, 'extra.txt'))).toBe(false);
    expect(readFileSync(lockPath, 'utf8')).toContain('4243'); // the winner's lock stays
  });

  it('refuses to commit a snapshot when another run committed since it was loaded (never writes over a newer state)', async () => {
    const slow = store();
    const stale = await slow.load();
    const fast = store();
    const fresh = await fast.load();
    fresh.addItem('first', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'first.txt', content: '1' } } });
    await fast.commit(fresh);
    stale.addItem('second', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'second.txt', content: '2' } } });
    await expect(slow.commit(stale)).rejects.toMatchObject({ code: 'STATE_CONFLICT', exitCode: 3 });
    const reloaded = await store().load();
    expect(reloaded.item('first')).toBeDefined();
    expect(reloaded.item('second')).toBeUndefined();
  });

  it('never shows a reader a half-replaced state while another run commits', async () => {
    const writer = store();
    let writing = true;
    const initial = await writer.load();
    initial.addItem('counter', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'counter.txt', content: '0' } } });
    await writer.commit(initial);
    const expectedItems = (await writer.load()).itemIds;
    const writes = (async () => {
      for (let round = 1; round <= 8; round++) {
        const snapshot = await writer.load();
        snapshot.supersedeItem('counter', { mintedAt: new Date('2026-01-01T00:00:00Z'), files: { data: { path: 'counter.txt', content: String(round) } } });
        await writer.commit(snapshot);
      }
      writing = false;
    })();
    const failures: string[] = [];
    let reads = 0;
    const reader = store();
    while (writing) {
      try {
        const snapshot = await reader.load();
        if (snapshot.itemIds.join() !== expectedItems.join()) failures.push(`saw items ${snapshot.itemIds.length}`);
      } catch (error) {
        failures.push(`${(error as { code?: string }).code}: ${(error as Error).message.split('\n')[0]}`);
      }
      reads++;
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });
});
