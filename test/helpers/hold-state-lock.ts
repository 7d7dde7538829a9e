/**
 * A process that takes the state lock through the real StateStore and holds it until it is killed:
 * `node -r tsx/cjs hold-state-lock.ts <stateRoot> <env>` prints `held <pid>` once it holds the lock.
 * Tests kill it (SIGKILL) to leave the lock of a dead run behind, or keep it alive to block others.
 */
import 'reflect-metadata';
import { StateStore } from '../../lib/state/store';

const [root, env] = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 1000);
new StateStore({ root, env })
  .withLock(async () => {
    process.stdout.write(`held ${process.pid}\n`);
    await new Promise(() => {});
  })
  .catch((error: Error) => {
    clearInterval(keepAlive);
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  });
