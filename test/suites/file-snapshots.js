/*
 * The snapshots of a test file that runs inside a grouped suite (run-group.ts) stay in the file's
 * own `__snapshots__/<file>.snap`, under the names they have when the file runs alone
 * (`npx jest test/k8s/x.test.ts`): jest keeps one snapshot state per suite, named after the suite
 * file, so without this a grouped file's snapshots would be looked up (and written) in the suite's.
 *
 * useFileSnapshots(file, describeName), called inside the describe block that holds the file, gives
 * the file a snapshot state of its own while its tests run: jest's own class, built with the
 * suite's options (--ci, -u, the format), which names each snapshot without the describe block's
 * name. At the end of the file it saves what changed, adds its counts to the suite's (jest's summary
 * reports them) and hands the snapshots no test checked to the suite's state under their full
 * names: jest then reports them as obsolete (and fails the run, as for a file alone), except those
 * of tests that were skipped or failed, as it does for a file alone. With -u, which would remove
 * obsolete snapshots, a grouped file that has any is refused instead: its tests may only have been
 * filtered out (-t), so it names the command that updates the file alone.
 */
'use strict';
const { basename, dirname, join } = require('node:path');

/** Where jest's default resolver (no snapshotResolver in jest.config.js) keeps the snapshots of `file`. */
function snapshotPathOf(file) {
  return join(dirname(file), '__snapshots__', `${basename(file)}.snap`);
}

/** The suite's state's options, read from jest-snapshot's SnapshotState (its fields, as of jest 30). */
function optionsOf(suiteState) {
  const options = {
    updateSnapshot: suiteState._updateSnapshot,
    expand: suiteState.expand,
    snapshotFormat: suiteState.snapshotFormat,
    rootDir: suiteState._rootDir,
    prettierPath: suiteState._prettierPath,
  };
  if (!['all', 'new', 'none'].includes(options.updateSnapshot) || !(suiteState._uncheckedKeys instanceof Set)) {
    throw new Error("test/suites/file-snapshots.js: jest's SnapshotState no longer has the fields this reads (_updateSnapshot, _uncheckedKeys): update it to the installed jest-snapshot");
  }
  return options;
}

/**
 * A SnapshotState (the suite's own class) for `file`, with the suite's `options`, naming snapshots
 * without `prefix` (the describe block's name and a space).
 */
function fileSnapshotState(suiteState, options, file, prefix) {
  const SnapshotState = suiteState.constructor;
  const unprefixed = (testName) => {
    if (!testName.startsWith(prefix)) throw new Error(`test/suites/file-snapshots.js: a snapshot of "${testName}" taken while ${file} runs, outside its describe block "${prefix.trimEnd()}"`);
    return testName.slice(prefix.length);
  };
  class FileSnapshotState extends SnapshotState {
    match(args) {
      return super.match({ ...args, testName: unprefixed(args.testName) });
    }
    fail(testName, received, key, testIdentity) {
      return super.fail(unprefixed(testName), received, key, testIdentity);
    }
  }
  return new FileSnapshotState(snapshotPathOf(file), options);
}

/** Gives `file` (absolute), registered inside the describe block `describeName`, its own snapshot file. */
function useFileSnapshots(file, describeName) {
  let suiteState;
  let updatingAll;
  let fileState;
  beforeAll(() => {
    suiteState = expect.getState().snapshotState;
    const options = optionsOf(suiteState);
    updatingAll = options.updateSnapshot === 'all';
    fileState = fileSnapshotState(suiteState, options, file, `${describeName} `);
    expect.setState({ snapshotState: fileState });
  });
  afterAll(() => {
    expect.setState({ snapshotState: suiteState });
    const unchecked = fileState.getUncheckedKeys();
    if (!updatingAll) for (const key of unchecked) suiteState._uncheckedKeys.add(`${describeName} ${key}`);
    fileState.save();
    for (const counter of ['added', 'matched', 'unmatched', 'updated']) suiteState[counter] += fileState[counter];
    if (updatingAll && unchecked.length > 0) {
      throw new Error(
        `${describeName}: no test checked ${unchecked.length === 1 ? 'its snapshot' : `${unchecked.length} of its snapshots`} (${unchecked.join(', ')}): obsolete, or its test was skipped or failed. ` +
          `-u removes obsolete snapshots only from a file run alone: npx jest ${file} -u`,
      );
    }
  });
}

module.exports = { useFileSnapshots };
