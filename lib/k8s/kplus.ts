/**
 * cdk8s-plus-28, imported here once for every module of the chart. In the bundle an `import * as` of
 * a CommonJS package copies the package's exports into a new object (esbuild's __toESM: 101 getters
 * for cdk8s-plus-28) at each importing module; twenty copies were about 3 ms of every synth.
 */
import * as kplus from 'cdk8s-plus-28';

export { kplus };
