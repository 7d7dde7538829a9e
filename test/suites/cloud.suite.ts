import { runGroup } from './run-group';

/** The in-process test files of test/cloud/ as one suite (see groups.js). */
runGroup('cloud');
