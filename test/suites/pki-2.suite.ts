import { runGroup } from './run-group';

/** The in-process test files of test/pki/ as one suite (see groups.js). */
runGroup('pki', 1);
