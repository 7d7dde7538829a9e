import { runGroup } from './run-group';

/** Suite 1 of the in-process test files of test/, dealt by groups.js. */
runGroup(0);
