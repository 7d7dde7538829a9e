import { runGroup } from './run-group';

/** The in-process test files of test/state/ as one suite (see groups.js). */
runGroup('state');
