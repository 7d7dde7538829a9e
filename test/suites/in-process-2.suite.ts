import { runGroup } from './run-group';

/** Suite 2 of the in-process test files of test/, dealt by groups.js. */
runGroup(1);
