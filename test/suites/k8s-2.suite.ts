import { runGroup } from './run-group';

/** The in-process test files of test/k8s/ as one suite (see groups.js). */
runGroup('k8s', 1);
