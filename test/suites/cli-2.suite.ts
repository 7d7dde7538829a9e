import { runGroup } from './run-group';

/** The in-process test files of test/cli/ as one suite (see groups.js). */
runGroup('cli', 1);
