import { runGroup } from './run-group';

/** The in-process test files of test/lifecycle/ as one suite (see groups.js). */
runGroup('lifecycle');
