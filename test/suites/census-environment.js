/**
 * The jest test environment of the CPU census of `npm test` (`npm run bench -- tests`,
 * scripts/bench/tests.ts): jest's node environment, which also records where the CPU of a run goes.
 * For every test, every hook run and every whole test file it appends one JSON line to
 * `$SIGSTORE_CDK_TEST_CENSUS_DIR/<worker pid>.jsonl`:
 *
 *   { file, kind: 'test' | 'hook' | 'file', name, selfMs, childrenMs, wallMs, startedAtMs, endedAtMs }
 *
 * - `selfMs`: CPU (user + system) of the jest worker itself (process.cpuUsage): the test's own code,
 *   what runs in the worker meanwhile (servers on loopback, other tests' timers), and for `file` the
 *   module loading too.
 * - `childrenMs`: CPU of the child processes the worker waited for meanwhile, with everything they
 *   waited for in turn (cutime + cstime of /proc/self/stat, in the kernel's 100 Hz ticks): the CLI
 *   runs, openssl, npm, MariaDB. A child is counted when it is reaped, so one reaped after its test
 *   ended counts towards whatever runs then. null where /proc is not there.
 * - `startedAtMs`, `endedAtMs`: when it started and ended, milliseconds since the epoch.
 * - `name`: the test's describe blocks and name joined with ' > '; a hook's is its block's, then
 *   `hook:<type>`; a file's is `(file)`.
 *
 * Without SIGSTORE_CDK_TEST_CENSUS_DIR it records nothing and is jest's node environment.
 */
'use strict';
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');
const { TestEnvironment } = require('jest-environment-node');
const { childrenCpu } = require('./process-cpu');

/** CPU milliseconds of the waited-for children of this process, or null without /proc. */
function childrenCpuMs() {
  const times = childrenCpu();
  return times === null ? null : times.userMs + times.systemMs;
}

function selfCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** performance.now() as milliseconds since the epoch, to 0.1 ms. */
function epochMs(now) {
  return Math.round((performance.timeOrigin + now) * 10) / 10;
}

function sample() {
  return { self: selfCpuMs(), children: childrenCpuMs(), wall: performance.now() };
}

/** The names of the describe blocks from the file's root down to `block` (the root block, jest's own, is left out). */
function blockPath(block) {
  const names = [];
  for (let current = block; current && current.parent; current = current.parent) names.unshift(current.name);
  return names;
}

class CensusEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.censusDirectory = process.env.SIGSTORE_CDK_TEST_CENSUS_DIR;
    this.testPath = context.testPath;
    /** Samples at the start of each running test function or hook, by the test or hook object. */
    this.started = new Map();
    this.fileStart = this.censusDirectory ? sample() : undefined;
  }

  /**
   * jest-circus calls this for each event of the run. A hook's events carry the test it runs for too
   * (beforeEach, afterEach), so a hook is keyed by the hook object, a test function by the test.
   */
  handleTestEvent(event) {
    if (!this.censusDirectory) return;
    switch (event.name) {
      case 'test_fn_start':
        this.started.set(event.test, sample());
        break;
      case 'hook_start':
        this.started.set(event.hook, sample());
        break;
      case 'test_fn_success':
      case 'test_fn_failure':
        this.record('test', [...blockPath(event.test.parent), event.test.name].join(' > '), this.take(event.test));
        break;
      case 'hook_success':
      case 'hook_failure':
        this.record('hook', [...blockPath(event.hook.parent), `hook:${event.hook.type}`].join(' > '), this.take(event.hook));
        break;
      default:
        break;
    }
  }

  async teardown() {
    if (this.fileStart) this.record('file', '(file)', this.fileStart);
    await super.teardown();
  }

  take(key) {
    const start = this.started.get(key);
    this.started.delete(key);
    return start;
  }

  record(kind, name, start) {
    if (!start) return;
    const end = sample();
    const row = {
      file: this.testPath,
      kind,
      name,
      selfMs: Math.round(end.self - start.self),
      childrenMs: start.children === null || end.children === null ? null : end.children - start.children,
      wallMs: Math.round(end.wall - start.wall),
      // when it started and ended, on the system clock (performance's, which no fake timers of a test
      // reach), to a tenth of a millisecond: `npm run bench -- processes` places the processes strace saw in tests by them
      startedAtMs: epochMs(start.wall),
      endedAtMs: epochMs(end.wall),
    };
    appendFileSync(join(this.censusDirectory, `${process.pid}.jsonl`), `${JSON.stringify(row)}\n`);
  }
}

module.exports = CensusEnvironment;
