import { runGroup } from './run-group';

/** Suite 3 of the in-process test files of test/, dealt by groups.js. */
runGroup(2);
