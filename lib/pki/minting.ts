import type * as CertificateBuilder from './certificate-builder';
import type * as Profiles from './profiles';

/** The flag bin/launch.js reads at exit (its MINTING_LOADED): a run that minted writes the code cache with the minting code. */
const MINTING_LOADED = Symbol.for('sigstore-cdk.code-cache.minting');

/** What mints certificates: the builder and the profiles of every certificate the PKI has. */
export type Minting = typeof CertificateBuilder & typeof Profiles;

/**
 * The certificate builder and the profiles: loaded at the first mint, not at start, so that
 * everything that only reads the state (a warm synth, verify, status, the custody checks) neither
 * evaluates them nor has them in its code cache. A require inside the function, as the project's
 * other lazy loads: the bundle keeps the modules unevaluated until it runs.
 */
export function loadMinting(): Minting {
  // For bin/launch.js: this run's code cache, written at exit, is to include the minting code.
  (globalThis as Record<symbol, unknown>)[MINTING_LOADED] = true;
  const builder = require('./certificate-builder') as typeof CertificateBuilder;
  const profiles = require('./profiles') as typeof Profiles;
  return { ...builder, ...profiles };
}
