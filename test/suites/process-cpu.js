/**
 * CPU time of the child processes this process has waited for, from /proc/self/stat: shared by the
 * census environment (test/suites/census-environment.js) and `npm run bench -- tests`, which must
 * not load jest to read it.
 */
'use strict';
const { readFileSync } = require('node:fs');

/** Linux reports the children's times of /proc/<pid>/stat in USER_HZ, which is 100 on every architecture. */
const TICK_MS = 10;

/** CPU milliseconds (user, system) of the waited-for children of this process, or null without /proc. */
function childrenCpu() {
  let stat;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return null;
  }
  // After the command name in parentheses (which may hold spaces): field 3 (state) onwards; cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userMs: Number(fields[13]) * TICK_MS, systemMs: Number(fields[14]) * TICK_MS };
}

module.exports = { childrenCpu };
