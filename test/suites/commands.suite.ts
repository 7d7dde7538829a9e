import { runGroup } from './run-group';

/** The in-process test files of test/commands/ as one suite (see groups.js). */
runGroup('commands');
