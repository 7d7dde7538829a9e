import { runGroup } from './run-group';

/** The in-process test files of test/trust/ as one suite (see groups.js). */
runGroup('trust');
