import { ConfigError } from '../errors';
import { ensureRootKeys, generationPlan, type RootKeyPlan, type RootKeyStatus } from '../pki/otc-kms-root-keys';
import type { KmsClient } from '../otc/kms-client';
import type { Progress } from '../progress';
import type { StateSnapshot } from '../state/store';
import { latestGeneration } from './generations';

/** The roots whose keys have generations (`rotate fulcio-root|tsa-root`). */
export const ROTATABLE_ROOTS = { 'fulcio-root': 'fulcio', 'tsa-root': 'tsa' } as const;
export type RotatableRoot = keyof typeof ROTATABLE_ROOTS;

export interface EnsureRootKeyGenerationsOptions {
  readonly kms: KmsClient;
  /** The configured (generation 1) root keys (`completeRootKeyPlan`). */
  readonly roots: RootKeyPlan;
  /** Further TUF root key aliases (`tuf.root.keys`), as `ensureRootKeys` takes them. @default - none */
  readonly tufRootKeyAliases?: readonly string[];
  /** The state (read only), for the generations it records; an absent state records none. */
  readonly snapshot: StateSnapshot;
  /** Also create the key of the next generation of these roots (before `rotate <root>`). @default none */
  readonly next?: readonly RotatableRoot[];
  readonly env: string;
  readonly progress?: Progress;
}

/**
 * `keys ensure`: the configured (generation 1) root keys, the key of every later generation the
 * state records, and with `next` the key of each named root's next generation, under the alias with
 * its `-g<N>` advanced (`sigstore-fulcio-root-g2`). Idempotent by alias, like generation 1's.
 */
export async function ensureRootKeyGenerations(options: EnsureRootKeyGenerationsOptions): Promise<(RootKeyStatus & { generation: number })[]> {
  const { kms, snapshot, env } = options;
  const plan = options.roots;
  const statuses: (RootKeyStatus & { generation: number })[] = (
    await ensureRootKeys({ kms, roots: plan, tufRootKeyAliases: options.tufRootKeyAliases, env, progress: options.progress })
  ).map((status) => ({
    ...status,
    generation: 1,
  }));
  for (const [item, root] of Object.entries(ROTATABLE_ROOTS) as [RotatableRoot, 'fulcio' | 'tsa'][]) {
    const recorded = latestGeneration(snapshot, item).generation;
    const upTo = recorded + (options.next?.includes(item) ? 1 : 0);
    for (let generation = 2; generation <= upTo; generation++) {
      const [status] = await ensureRootKeys({ kms, roots: generationPlan(plan, root, generation, env), env, progress: options.progress });
      statuses.push({ ...status, generation });
    }
  }
  return statuses;
}

/** Parses `keys ensure --next`: `fulcio-root` or `tsa-root`, naming the value otherwise. */
export function parseNextRoots(values: readonly string[]): RotatableRoot[] {
  return values.map((value) => {
    if (value in ROTATABLE_ROOTS) return value as RotatableRoot;
    throw new ConfigError('CONFIG_INVALID', `--next ${JSON.stringify(value)}: expected ${Object.keys(ROTATABLE_ROOTS).join(' or ')}`);
  });
}
