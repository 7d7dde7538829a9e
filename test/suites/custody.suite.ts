import { runGroup } from './run-group';

/** The in-process test files of test/custody/ as one suite (see groups.js). */
runGroup('custody');
