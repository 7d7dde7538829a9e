import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStatePull, runStatePush, runStateStatus } from '../../lib/commands/state-remote';
import type { SigstoreConfig } from '../../lib/config/schema';
import { StateError } from '../../lib/errors';
import { connectObsState } from '../../lib/remote/obs-connection';
import { ObsObjects } from '../../lib/remote/obs-objects';
import { acquireRemoteLock } from '../../lib/remote/remote-lock';
import { OBJECT_TRANSFERS } from '../../lib/remote/remote-state';
import { runBootstrap } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { runVerify } from '../../lib/verify';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { startObsTestServer, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { fileContents } from '../helpers/tree';

/** The remote state against a real S3 server on loopback (s3rver), through the real @aws-sdk/client-s3. */
let server: ObsTestServer;
let config: SigstoreConfig;
let workspace: string;
const environment = () => server.cliEnvironment();

beforeAll(async () => {
  server = await startObsTestServer();
  config = fixtureConfig(server.environmentYaml());
});
afterAll(async () => server.stop());
beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'remote-state-'));
  server.versioning = 'Enabled';
  server.publicAcl = false;
  server.policy = undefined;
  server.onRequest = undefined;
  server.requests.length = 0;
});
afterEach(async () => {
  // The bucket's objects are removed between tests (in s3rver's store: a DELETE per object through
  // the client cost ~0.1 s per test).
  await server.clear();
  rmSync(workspace, { recursive: true, force: true });
});

/** A fresh state root with the fixture state (a working copy that was never pulled). */
function fixtureRoot(name: string): string {
  const directory = join(workspace, name);
  return copyFixtureState(directory);
}

function emptyRoot(name: string): string {
  return join(workspace, name, '.sigstore');
}


const FIXTURE_DAY = (days: number) => () => new Date(Date.parse('2026-01-01T00:00:00Z') + days * 86_400_000);

async function refreshTimestamp(stateRoot: string, days: number): Promise<void> {
  const result = await runTufRefresh({ config, stateRoot, clock: FIXTURE_DAY(days) });
  expect(result.published.map((entry) => entry.role)).toContain('timestamp');
}

async function expectStateError(promise: Promise<unknown>, code: string): Promise<StateError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StateError);
  expect((error as StateError).code).toBe(code);
  return error as StateError;
}

describe('push and pull', () => {
  it('pushes the working copy with SSE-KMS and pulls it byte for byte into an empty directory that verify accepts', async () => {
    const source = fixtureRoot('a');
    const pushed = await runStatePush({ config, stateRoot: source, environment: environment() });
    expect(pushed).toMatchObject({ pushed: true, generation: 1 });
    const puts = server.puts();
    expect(puts.length).toBeGreaterThan(3);
    for (const put of puts) {
      expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe(server.kmsKeyId);
    }
    // The head is written last: every object it names was written before it.
    const keys = puts.map((put) => decodeURIComponent(put.path.split('?')[0]));
    const headIndex = keys.findIndex((key) => key.endsWith('/head.json'));
    // (one object per distinct content: files with the same bytes share it)
    expect(keys.slice(0, headIndex).filter((key) => key.includes('/objects/')).length).toBe(new Set(Object.values(fileContents(join(source, FIXTURE_ENV)))).size);
    expect(keys.slice(headIndex + 1).filter((key) => !key.includes('/lock/'))).toEqual([]);

    const target = emptyRoot('b');
    const pulled = await runStatePull({ config, stateRoot: target, environment: environment() });
    expect(pulled).toMatchObject({ written: true, generation: 1 });
    expect(fileContents(join(target, FIXTURE_ENV))).toEqual(fileContents(join(source, FIXTURE_ENV)));
    expect(statSync(join(target, FIXTURE_ENV)).mode & 0o777).toBe(0o700);
    const verified = await runVerify({ config, stateRoot: target, offline: true, clock: FIXTURE_DAY(1) });
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(await runStateStatus({ config, stateRoot: target, environment: environment() })).toMatchObject({ status: 'in-sync', baseGeneration: 1 });
  });

  it(`moves up to ${OBJECT_TRANSFERS} objects at once (push and pull), not one round trip after another`, async () => {
    // Object requests are held until as many are in flight as the client may send at once (or as
    // are left), and 50 ms more, in which a client that sent more than that would show them too. A
    // client that sent fewer at a time would leave the gate waiting; it then opens after 5 s, says so,
    // and holds nothing more in that phase. A correct client reaches the count exactly, whatever the
    // timing: it sends no more until answered.
    const source = fixtureRoot('a');
    const contents = Object.values(fileContents(join(source, FIXTURE_ENV)));
    const gate = { left: 0, waiting: [] as (() => void)[], batch: 0, most: 0, stalled: false };
    const open = () => {
      gate.batch++;
      gate.left -= gate.waiting.length;
      for (const release of gate.waiting.splice(0)) release();
    };
    server.onRequest = (request) => {
      if (!request.path.includes('/objects/') || (request.method !== 'PUT' && request.method !== 'GET')) return;
      return new Promise<void>((resolve) => {
        gate.waiting.push(resolve);
        gate.most = Math.max(gate.most, gate.waiting.length);
        if (gate.stalled) open();
        else if (gate.waiting.length === Math.min(OBJECT_TRANSFERS, gate.left)) setTimeout(open, 50);
        else if (gate.waiting.length === 1) {
          const batch = gate.batch;
          setTimeout(() => {
            if (gate.batch !== batch) return; // opened meanwhile
            gate.stalled = true;
            open();
          }, 5000);
        }
      });
    };
    const phase = async <T>(objects: number, run: () => Promise<T>) => {
      Object.assign(gate, { left: objects, most: 0, stalled: false });
      const result = await run();
      return { result, most: gate.most, stalled: gate.stalled, left: gate.left };
    };
    // A push uploads each distinct content once; a pull reads the object of every file.
    const push = await phase(new Set(contents).size, () => runStatePush({ config, stateRoot: source, environment: environment() }));
    expect(push).toMatchObject({ result: { pushed: true, generation: 1 }, most: OBJECT_TRANSFERS, stalled: false, left: 0 });
    const target = emptyRoot('b');
    const pull = await phase(contents.length, () => runStatePull({ config, stateRoot: target, environment: environment() }));
    expect(pull).toMatchObject({ result: { written: true, generation: 1 }, most: OBJECT_TRANSFERS, stalled: false, left: 0 });
    expect(fileContents(join(target, FIXTURE_ENV))).toEqual(fileContents(join(source, FIXTURE_ENV)));
  });

  it('refuses a push over a remote that changed since the pull (no lost update), and a pull over unpushed changes', async () => {
    const first = fixtureRoot('a');
    await runStatePush({ config, stateRoot: first, environment: environment() });
    const second = emptyRoot('b');
    await runStatePull({ config, stateRoot: second, environment: environment() });
    // Both machines refresh the TUF timestamp; the second pushes first.
    await refreshTimestamp(second, 5);
    await refreshTimestamp(first, 6);
    expect(await runStateStatus({ config, stateRoot: first, environment: environment() })).toMatchObject({ status: 'local-ahead' });
    expect(await runStatePush({ config, stateRoot: second, environment: environment() })).toMatchObject({ pushed: true, generation: 2 });
    expect(await runStateStatus({ config, stateRoot: first, environment: environment() })).toMatchObject({ status: 'diverged', baseGeneration: 1 });
    const before = fileContents(join(first, FIXTURE_ENV));
    const refused = await expectStateError(runStatePush({ config, stateRoot: first, environment: environment() }), 'STATE_REMOTE_CHANGED');
    expect(refused.message).toContain('generation 2');
    expect(refused.message).toContain('pulled from generation 1');
    const unpushed = await expectStateError(runStatePull({ config, stateRoot: first, environment: environment() }), 'STATE_LOCAL_UNPUSHED');
    expect(unpushed.message).toContain('timestamp');
    expect(fileContents(join(first, FIXTURE_ENV))).toEqual(before);
    // The remote is still the second machine's generation 2.
    const third = emptyRoot('c');
    await runStatePull({ config, stateRoot: third, environment: environment() });
    expect(fileContents(join(third, FIXTURE_ENV))).toEqual(fileContents(join(second, FIXTURE_ENV)));
  });

  it('a working copy behind the remote pulls the new generation; pushing it again changes nothing', async () => {
    const first = fixtureRoot('a');
    await runStatePush({ config, stateRoot: first, environment: environment() });
    const second = emptyRoot('b');
    await runStatePull({ config, stateRoot: second, environment: environment() });
    await refreshTimestamp(second, 5);
    await runStatePush({ config, stateRoot: second, environment: environment() });
    expect(await runStateStatus({ config, stateRoot: first, environment: environment() })).toMatchObject({ status: 'remote-ahead' });
    expect(await runStatePull({ config, stateRoot: first, environment: environment() })).toMatchObject({ written: true, generation: 2 });
    expect(await runStatePush({ config, stateRoot: first, environment: environment() })).toMatchObject({ pushed: false, generation: 2 });
  });

  it('refuses to mint into a missing working copy when the remote holds a state', async () => {
    await runStatePush({ config, stateRoot: fixtureRoot('a'), environment: environment() });
    const empty = emptyRoot('b');
    const refused = await expectStateError(runBootstrap({ config, stateRoot: empty, environment: environment() }), 'STATE_REMOTE_DIVERGED');
    expect(refused.message).toContain('generation 1');
    expect(refused.message).toContain('state pull');
    expect(() => readdirSync(join(empty, FIXTURE_ENV))).toThrow();
  });

  it('a reader trusts only what the head lists and hashes: a damaged object is refused, nothing is written', async () => {
    await runStatePush({ config, stateRoot: fixtureRoot('a'), environment: environment() });
    const { s3, location } = connectObsState(config, environment());
    const objects = new ObsObjects(s3, location);
    const victim = (await objects.list(`${location.prefix}objects/`))[0];
    await objects.put(victim.key, 'damaged');
    const target = emptyRoot('b');
    const refused = await expectStateError(runStatePull({ config, stateRoot: target, environment: environment() }), 'STATE_REMOTE_CORRUPT');
    expect(refused.message).toContain('does not match its SHA-256');
    expect(() => readdirSync(join(target, FIXTURE_ENV))).toThrow();
  });
});

describe('the bucket', () => {
  it.each([
    ['unversioned', () => (server.versioning = undefined), 'versioning is not enabled'],
    ['versioning suspended', () => (server.versioning = 'Suspended'), 'versioning is "Suspended"'],
    ['a public ACL', () => (server.publicAcl = true), 'AllUsers'],
    ['a policy allowing everyone', () => (server.policy = JSON.stringify({ Statement: [{ Sid: 'Open', Effect: 'Allow', Principal: { ID: ['*'] }, Action: ['GetObject'] }] })), '"Open" allows everyone'],
  ])('is refused when %s, before anything is written', async (_case, arrange, expected) => {
    arrange();
    const refused = await expectStateError(runStatePush({ config, stateRoot: fixtureRoot('a'), environment: environment() }), 'STATE_REMOTE_BUCKET_UNSAFE');
    expect(refused.message).toContain(expected);
    expect(server.puts()).toEqual([]);
  });

  it('never prints the secret key, even when OBS refuses the request', async () => {
    server.onRequest = () => undefined;
    const refused = await expectStateError(
      runStatePush({ config: fixtureConfig(server.environmentYaml().replace(server.kmsKeyId, '11111111-2222-3333-4444-555555555555')), stateRoot: fixtureRoot('a'), environment: environment() }),
      'STATE_REMOTE_UNAVAILABLE',
    );
    expect(refused.message).toContain('HTTP 400');
    expect(refused.message).not.toContain(TEST_SECRET_KEY);
  });
});

describe('the remote lock', () => {
  const objectsOf = () => {
    const { s3, location } = connectObsState(config, environment());
    return new ObsObjects(s3, location);
  };

  it('is held by one contender at a time', async () => {
    const objects = objectsOf();
    const intervals: [number, number][] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const lock = await acquireRemoteLock(objects, { ttlMs: 10_000, waitMs: 30_000, purpose: 'test' });
        const start = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 150));
        await lock.assertHeld();
        intervals.push([start, Date.now()]);
        await lock.release();
      }),
    );
    expect(intervals).toHaveLength(4);
    intervals.sort(([a], [b]) => a - b);
    for (let index = 1; index < intervals.length; index++) expect(intervals[index][0]).toBeGreaterThanOrEqual(intervals[index - 1][1]);
  });

  it('takes over a claim that is not refreshed for the ttl, naming whose it was; the old holder then stops', async () => {
    const objects = objectsOf();
    const stale = await acquireRemoteLock(objects, { ttlMs: 1_500, purpose: 'state push' });
    // The holder hangs: its refreshes stop (a process frozen or cut off).
    await objects.put(`${objects.location.prefix}lock/${stale.claim.owner}.json`, `${JSON.stringify({ ...stale.claim, host: 'laptop-7' })}\n`);
    const hung = stale as unknown as { release(): Promise<void> };
    const takeovers: string[] = [];
    const waits: string[] = [];
    // Stop the old holder's refresh timer without deleting its claim.
    jest.spyOn(objects, 'delete').mockImplementationOnce(async () => undefined);
    await hung.release();
    const taker = await acquireRemoteLock(objects, { ttlMs: 1_500, waitMs: 10_000, purpose: 'state push', onTakeover: (previous) => takeovers.push(previous), onWait: (holder) => waits.push(holder) });
    expect(waits[0]).toContain('laptop-7');
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]).toContain('laptop-7');
    expect(takeovers[0]).toContain('not refreshed for');
    await expect(stale.assertHeld()).rejects.toMatchObject({ code: 'STATE_REMOTE_LOCK_LOST' });
    await taker.release();
  });

  it('a contender gives up after the wait, naming the holder', async () => {
    const objects = objectsOf();
    const holder = await acquireRemoteLock(objects, { ttlMs: 10_000, purpose: 'state push' });
    await expect(acquireRemoteLock(objects, { ttlMs: 10_000, waitMs: 1_000, purpose: 'state push' })).rejects.toMatchObject({
      code: 'STATE_REMOTE_LOCKED',
      message: expect.stringContaining(`pid ${process.pid}, state push`),
    });
    await holder.release();
  });
});

describe('the S3 stand-in (test/helpers/obs-server.ts), which answers one request at a time', () => {
  /** Polls until `done` holds (5 s at most). */
  async function until(done: () => boolean, what: string): Promise<void> {
    for (const started = Date.now(); !done(); ) {
      if (Date.now() - started > 5000) throw new Error(`waited 5 s for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it("drops a request whose client left while it waited for its turn (a killed push), and answers the next ones", async () => {
    const { hostname, port } = new URL(server.endpoint);
    const sse = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': server.kmsKeyId };
    const answered = (request: ReturnType<typeof httpRequest>) =>
      new Promise<number>((resolve, reject) => {
        request.on('response', (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        request.on('error', reject);
      });
    // An upload whose body is still coming holds s3rver's turn.
    const slow = httpRequest({ host: hostname, port, method: 'PUT', path: `/${server.bucket}/slow`, headers: { ...sse, 'content-length': '10' } });
    const slowAnswer = answered(slow);
    slow.write('12345');
    await until(() => server.requests.some((request) => request.method === 'PUT' && request.path.endsWith('/slow')), 'the upload to arrive');
    // A request queued behind it, whose client then goes away.
    const gone = httpRequest({ host: hostname, port, method: 'GET', path: `/${server.bucket}/slow` });
    gone.on('error', () => undefined);
    gone.end();
    await until(() => server.requests.some((request) => request.method === 'GET'), 'the queued request to arrive');
    gone.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200)); // its connection's close reaches the server while it waits
    slow.end('67890');
    expect(await slowAnswer).toBe(200);
    // The next request is answered: the dropped one's turn did not wait for a close that had passed.
    const next = httpRequest({ host: hostname, port, method: 'GET', path: `/${server.bucket}/slow` });
    const stalled = new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 5 s'), 5000).unref());
    next.end();
    expect(await Promise.race([answered(next), stalled])).toBe(200);
  });

  it('clear() empties the bucket as deletes would: nothing is listed or read after it, and the next push starts at generation 1', async () => {
    const source = fixtureRoot('a');
    expect(await runStatePush({ config, stateRoot: source, environment: environment() })).toMatchObject({ pushed: true, generation: 1 });
    const { s3, location } = connectObsState(config, environment());
    const objects = new ObsObjects(s3, location);
    const before = await objects.list(location.prefix);
    expect(before.length).toBeGreaterThan(3);
    await server.clear();
    expect(await objects.list('')).toEqual([]);
    expect(await objects.get(before[0].key)).toBeUndefined();
    expect(await runStatePush({ config, stateRoot: fixtureRoot('b'), environment: environment() })).toMatchObject({ pushed: true, generation: 1 });
  });
});
