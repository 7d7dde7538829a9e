import { runGroup } from './run-group';

/** The in-process test files of test/output/ as one suite (see groups.js). */
runGroup('output');
