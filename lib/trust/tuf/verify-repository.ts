import { Readable } from 'node:stream';
import type { Metadata, MetaFile, Root } from '@tufjs/models';
import type { SigstoreConfig } from '../../config/schema';
import type { PublicTrustMaterial } from '../trusted-root';
import { tufExpiryReport, type RoleExpiry } from './expiry';
import { sameTargets } from './lifecycle';
import type { TufRepository } from './repository';
import { buildTufTargets } from './targets';

export interface TufVerification {
  /** What makes clients fail or see wrong trust material: bad signatures or hashes, an expired role, stale targets. */
  readonly problems: readonly string[];
  /** What needs attention soon: roles inside their refresh window. */
  readonly warnings: readonly string[];
  readonly expiry: readonly RoleExpiry[];
  /** Whether the targets are the trust material and URLs the configuration gives now. */
  readonly targetsCurrent: boolean;
}

/**
 * Checks the repository the way a client walks it, with @tufjs/models' verification: every root
 * version is signed by the threshold of its predecessor's root keys and of its own; the current
 * targets, snapshot and timestamp are signed by the keys the newest root names; the timestamp and
 * snapshot reference the newest snapshot and targets by version, length and hash; every target file
 * matches its length and hash. Then expiry at `now` (expired: a problem; inside the refresh window:
 * a warning) and whether the targets still match the trust material.
 */
export async function verifyTufRepository(
  repository: TufRepository,
  material: PublicTrustMaterial,
  config: SigstoreConfig,
  now: Date,
): Promise<TufVerification> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const check = (what: string, work: () => void) => {
    try {
      work();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
  };

  repository.roots.forEach((root, index) => {
    const trusting = index === 0 ? root : repository.roots[index - 1];
    check(`root v${index + 1}`, () => {
      if (root.signed.version !== index + 1) throw new Error(`file ${index + 1}.root.json holds version ${root.signed.version}`);
      trusting.verifyDelegate('root', root);
      root.verifyDelegate('root', root);
      if (!root.signed.consistentSnapshot) throw new Error('consistent_snapshot is false; clients would fetch unversioned files');
    });
  });
  const root: Metadata<Root> = repository.root;
  check(`targets v${repository.targets.signed.version}`, () => root.verifyDelegate('targets', repository.targets));
  check(`snapshot v${repository.snapshot.signed.version}`, () => root.verifyDelegate('snapshot', repository.snapshot));
  check(`timestamp v${repository.timestamp.signed.version}`, () => root.verifyDelegate('timestamp', repository.timestamp));
  check('timestamp → snapshot', () =>
    expectMeta(repository.timestamp.signed.snapshotMeta, repository.snapshot.signed.version, `${repository.snapshot.signed.version}.snapshot.json`, repository),
  );
  check('snapshot → targets', () => {
    const meta = repository.snapshot.signed.meta['targets.json'];
    if (!meta) throw new Error('snapshot does not list targets.json');
    expectMeta(meta, repository.targets.signed.version, `${repository.targets.signed.version}.targets.json`, repository);
  });
  for (const [name, file] of Object.entries(repository.targets.signed.targets)) {
    const path = `targets/${file.hashes.sha256}.${name}`;
    const bytes = repository.files.get(path);
    if (!bytes) {
      problems.push(`target ${name}: ${path} is missing`);
      continue;
    }
    try {
      await file.verify(Readable.from([bytes]));
    } catch (error) {
      problems.push(`target ${name}: ${(error as Error).message}`);
    }
  }

  const expiry = tufExpiryReport(repository, config, now);
  for (const role of expiry) {
    const name = `TUF ${role.role} v${role.version}`;
    if (role.status === 'expired') problems.push(`${name} expired ${role.expires}: clients refuse the repository; run "sigstore-cdk tuf refresh --env ${config.env}"`);
    if (role.status === 'due') {
      warnings.push(`${name} expires ${role.expires} (in ${role.daysLeft} days, inside its ${role.refreshBefore} refresh window); run "sigstore-cdk tuf refresh --env ${config.env}"`);
    }
  }
  const targetsCurrent = sameTargets(repository.targets.signed, buildTufTargets(material, config));
  if (!targetsCurrent) {
    problems.push(
      `TUF targets v${repository.targets.signed.version} do not match the current trust material and URLs (trusted_root.json, signing config or keys changed); ` +
        `clients would get stale trust material: run "sigstore-cdk tuf refresh --env ${config.env}"`,
    );
  }
  return { problems, warnings, expiry, targetsCurrent };
}

function expectMeta(meta: MetaFile, version: number, path: string, repository: TufRepository): void {
  if (meta.version !== version) throw new Error(`references version ${meta.version}, but the newest is ${version}`);
  const bytes = repository.files.get(path);
  if (!bytes) throw new Error(`${path} is missing`);
  meta.verify(bytes);
}
