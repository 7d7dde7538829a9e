import { runGroup } from './run-group';

/** The in-process test files of test/config/ as one suite (see groups.js). */
runGroup('config');
