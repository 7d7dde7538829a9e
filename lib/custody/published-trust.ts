import { createHash } from 'node:crypto';
import type { Targets } from '@tufjs/models';
import { StateError } from '../errors';
import type { TufTarget } from '../trust/tuf/targets';

/**
 * Published trust is append-only: the keys and certificates a TUF targets version published (the
 * per-key targets with `custom.sigstore`: Fulcio root and intermediate, CT log and Rekor keys, the
 * TSA chain) must be the ones the state would publish now. Changed hostnames change the URLs in
 * trusted_root.json and the signing config, never these. Returns what would be replaced.
 */
export function replacedPublishedTrust(published: Targets, wanted: readonly TufTarget[]): string[] {
  const replaced: string[] = [];
  for (const [name, file] of Object.entries(published.targets)) {
    if (!file.unrecognizedFields.custom) continue;
    const next = wanted.find((target) => target.name === name);
    const nextHash = next ? createHash('sha256').update(next.content).digest('hex') : undefined;
    if (nextHash !== file.hashes.sha256) replaced.push(`${name} (published ${file.hashes.sha256}, now ${nextHash ?? 'absent'})`);
  }
  return replaced;
}

/** Throws STATE_PUBLISHED_TRUST_REPLACED when the state would replace published keys or certificates. */
export function expectPublishedTrustKept(published: Targets, wanted: readonly TufTarget[], directory: string): void {
  const replaced = replacedPublishedTrust(published, wanted);
  if (replaced.length === 0) return;
  throw new StateError(
    'STATE_PUBLISHED_TRUST_REPLACED',
    `state ${directory} holds other keys or certificates than TUF targets v${published.version} published: ${replaced.join(', ')}. ` +
      'Refusing to publish or write them; nothing was changed. Published trust only grows by an explicit rotation: restore the state from a backup.',
  );
}
