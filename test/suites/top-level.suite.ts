import { runGroup } from './run-group';

/** The in-process test files of test/ as one suite (see groups.js). */
runGroup('.');
