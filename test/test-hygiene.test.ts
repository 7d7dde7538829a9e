import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const TEST_ROOT = __dirname;

/** Every TypeScript file under test/ (fixtures included), as paths relative to test/. */
function sources(directory = TEST_ROOT): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(TEST_ROOT, path)] : [];
  });
}

describe('what the tests leave behind', () => {
  // cdk8s's and cdktf's Testing.app() without an outdir make a temporary directory that nothing
  // removes: about 700 per run, before the tests gave them IN_MEMORY_OUTDIR or CDKTF_IN_MEMORY_OUTDIR.
  it('no test makes a cdk8s or cdktf testing app without an outdir', () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(100);
    const offending = files.filter((file) => /Testing\.(app|chart)\(\s*\)/.test(readFileSync(join(TEST_ROOT, file), 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')));
    expect(offending).toEqual([]);
  });
});
