import type { TufRootKeySource } from '../config/schema';
import { ConfigError, OtcError } from '../errors';
import type { KmsClient, KmsKeyInfo, KmsKeySpec } from '../otc/kms-client';
import { describeKeyState, KEY_STATE_ENABLED } from '../otc/kms-key-state';
import type { KmsConnection, OtcConfig } from '../otc/kms-connection';
import { silentProgress, type Progress } from '../progress';
import type { StateSnapshot } from '../state/store';
import { OtcKmsSigner } from './otc-kms-signer';
import type { Curve } from './keys';
import { TUF_ROOT_CURVE, type RootKeyProvider, type RootName, type RootPublicKey } from './root-keys';
import type { Signer } from './signer';
import { fileTufRootSigner, localSignerForKeyRef, localTufRootSigner } from './tuf-root-keys';

/** The key spec root keys may have. */
export type RootKeySpec = Extract<KmsKeySpec, 'EC_P256' | 'EC_P384'>;

/** Root keys sign certificates and metadata, so they are asymmetric SIGN_VERIFY keys. */
export const ROOT_KEY_USAGE = 'SIGN_VERIFY';

const KEY_SPEC_OF_CURVE: Readonly<Record<Curve, RootKeySpec>> = { 'P-256': 'EC_P256', 'P-384': 'EC_P384' };

/** What one root's KMS key must be. */
export interface RootKeyRequirement {
  readonly alias: string;
  readonly keySpec: RootKeySpec;
  /** Where the spec comes from, for messages: `otc.kms.keySpec is EC_P384`. */
  readonly keySpecSource: string;
}

/** The KMS key of each root that has an alias configured. */
export type RootKeyPlan = Readonly<Partial<Record<RootName, RootKeyRequirement>>>;

/**
 * The root keys `otc.kms` asks for: Fulcio and TSA with `otc.kms.keySpec`, and (when its alias is
 * set) the TUF root with P-256, which TUF clients need. A new root is one more line here.
 */
/** What every TUF root key in KMS must be. */
export const TUF_ROOT_KEY_REQUIREMENT = {
  keySpec: KEY_SPEC_OF_CURVE[TUF_ROOT_CURVE],
  keySpecSource: `the TUF root key must be ${KEY_SPEC_OF_CURVE[TUF_ROOT_CURVE]} (TUF clients verify ECDSA with SHA-256 only)`,
} as const;

export function rootKeyPlan(otc: OtcConfig): RootKeyPlan {
  const configured = { keySpec: otc.kms.keySpec, keySpecSource: `otc.kms.keySpec is ${otc.kms.keySpec}` };
  const tuf = TUF_ROOT_KEY_REQUIREMENT;
  return {
    fulcio: { alias: otc.kms.fulcioRootKeyAlias, ...configured },
    tsa: { alias: otc.kms.tsaRootKeyAlias, ...configured },
    ...(otc.kms.tufRootKeyAlias ? { tuf: { alias: otc.kms.tufRootKeyAlias, ...tuf } } : {}),
  };
}

/** `-g<N>` at the end of a root key alias: the generation the alias rule puts in it. */
const ALIAS_GENERATION = /-g([1-9][0-9]{0,2})$/;

/**
 * The alias of generation `generation` of a root key whose configured (generation 1) alias is
 * `alias`: its `-g<N>` suffix advanced by generation - 1 (`sigstore-fulcio-root-g1` → `-g2`). An alias
 * without the suffix cannot be advanced: CONFIG_INVALID names it.
 */
export function aliasForGeneration(alias: string, generation: number, field: string): string {
  if (generation === 1) return alias;
  const match = ALIAS_GENERATION.exec(alias);
  if (!match) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${field} "${alias}" has no generation suffix ("-g1"): a root rotation creates the next key under the next generation's alias; ` +
        'rename the alias in KMS and in the configuration to end in -g1',
    );
  }
  return `${alias.slice(0, match.index)}-g${Number(match[1]) + generation - 1}`;
}

/** The plan of one root for generation `generation` of its key (the alias advanced; spec unchanged). */
export function generationPlan(roots: RootKeyPlan, root: RootName, generation: number, env: string): RootKeyPlan {
  const requirement = roots[root];
  if (!requirement) throw new ConfigError('CONFIG_OTC_MISSING', `environment "${env}" names no KMS key for the ${root} root: set otc.kms.${root}RootKeyAlias`);
  return { [root]: { ...requirement, alias: aliasForGeneration(requirement.alias, generation, `otc.kms.${root}RootKeyAlias`) } };
}

/**
 * The plan `keys ensure` carries out: all three root keys. `keys ensure` is the one place they are
 * created, so a configuration without the TUF root's alias is refused (CONFIG_INVALID) before any
 * KMS call, naming the field; a bootstrap would otherwise find no TUF root key later.
 */
export function completeRootKeyPlan(otc: OtcConfig): Required<RootKeyPlan> {
  const plan = rootKeyPlan(otc);
  if (!plan.tuf) {
    throw new ConfigError(
      'CONFIG_INVALID',
      'otc.kms.tufRootKeyAlias is not set: "keys ensure" creates three root keys, by the aliases otc.kms.fulcioRootKeyAlias ' +
        `("${otc.kms.fulcioRootKeyAlias}"), otc.kms.tsaRootKeyAlias ("${otc.kms.tsaRootKeyAlias}") and otc.kms.tufRootKeyAlias ` +
        '(the TUF root, EC_P256); add it, e.g. tufRootKeyAlias: sigstore-tuf-root-g1',
      [{ path: 'otc.kms.tufRootKeyAlias', message: 'missing: keys ensure needs the TUF root key alias' }],
    );
  }
  return plan as Required<RootKeyPlan>;
}

function plannedRoots(plan: RootKeyPlan): [RootName, RootKeyRequirement][] {
  return Object.entries(plan).filter((entry): entry is [RootName, RootKeyRequirement] => entry[1] !== undefined);
}

/** One root key as `keys ensure` reports it. */
export interface RootKeyStatus {
  readonly root: RootName;
  readonly alias: string;
  readonly keyId: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly keyState: string;
  /** True when this run created the key. */
  readonly created: boolean;
}

export interface EnsureRootKeysOptions {
  readonly kms: KmsClient;
  readonly roots: RootKeyPlan;
  /**
   * Further TUF root key aliases (`tuf.root.keys` entries with `kmsAlias`, such as the next
   * generation's), created as EC_P256 like the TUF root key. @default - none
   */
  readonly tufRootKeyAliases?: readonly string[];
  /** The environment, for messages. */
  readonly env: string;
  /** @default - silent */
  readonly progress?: Progress;
}

/** One key `keys ensure` looks after: a root and the alias and spec of its key. */
interface PlannedKey {
  readonly root: RootName;
  readonly requirement: RootKeyRequirement;
}

/** The keys of the plan, then the further TUF root aliases; an alias listed twice is one key. */
function plannedKeys(roots: RootKeyPlan, tufRootKeyAliases: readonly string[]): PlannedKey[] {
  const planned: PlannedKey[] = plannedRoots(roots).map(([root, requirement]) => ({ root, requirement }));
  for (const alias of tufRootKeyAliases) {
    if (planned.some((key) => key.requirement.alias === alias)) continue;
    planned.push({ root: 'tuf', requirement: { alias, ...TUF_ROOT_KEY_REQUIREMENT } });
  }
  return planned;
}

/**
 * `keys ensure`: makes sure each root has an enabled asymmetric SIGN_VERIFY key of its spec under its
 * alias, creating the missing ones. Idempotent by alias. Every existing key is checked before
 * anything is created: a key with the wrong spec, usage or state is refused (KMS_KEY_UNUSABLE) and
 * nothing is created.
 */
export async function ensureRootKeys(options: EnsureRootKeysOptions): Promise<RootKeyStatus[]> {
  const { kms, roots, env } = options;
  const progress = options.progress ?? silentProgress;
  const planned = plannedKeys(roots, options.tufRootKeyAliases ?? []);
  const aliases = planned.map((key) => key.requirement.alias);
  const found = await progress.step(`look up ${planned.length} root key aliases in KMS`, () => findKeysByAlias(kms, aliases));
  const problems = planned.flatMap(({ root, requirement }) => {
    const key = found.get(requirement.alias);
    return key ? rootKeyProblems(root, key, requirement, env) : [];
  });
  if (problems.length > 0) {
    throw new OtcError('KMS_KEY_UNUSABLE', `refusing the existing root keys; nothing was created:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  const statuses: RootKeyStatus[] = [];
  for (const { root, requirement } of planned) {
    const { alias, keySpec } = requirement;
    let key = found.get(alias);
    let created = false;
    if (!key) {
      key = await progress.step(`create ${keySpec} ${ROOT_KEY_USAGE} key "${alias}" (${root} root)`, async () => {
        try {
          return await kms.describeKey(await kms.createKey({ alias, keySpec, keyUsage: ROOT_KEY_USAGE, description: `sigstore-cdk ${env} ${root} root key` }));
        } catch (error) {
          // A create whose answer was lost (timeout, 5xx) and then retried finds its own key under the alias.
          if (!(error instanceof OtcError && error.code === 'KMS_ALIAS_TAKEN')) throw error;
          const again = (await findKeysByAlias(kms, [alias])).get(alias);
          if (!again) throw error;
          return again;
        }
      });
      const afterCreate = rootKeyProblems(root, key, requirement, env);
      if (afterCreate.length > 0) throw new OtcError('KMS_KEY_UNUSABLE', afterCreate.join('; '));
      created = true;
    }
    statuses.push({
      root,
      alias,
      keyId: key.keyId,
      keySpec: key.keySpec ?? keySpec,
      keyUsage: key.keyUsage ?? ROOT_KEY_USAGE,
      keyState: key.keyState,
      created,
    });
  }
  return statuses;
}

/**
 * Finds the keys with the given aliases: one list-keys pass (all pages), then describe-key for each
 * match, because describe-key is the documented source of spec, usage and state.
 */
export async function findRootKeys(kms: KmsClient, roots: RootKeyPlan): Promise<Map<RootName, KmsKeyInfo>> {
  const planned = plannedRoots(roots);
  const byAlias = await findKeysByAlias(kms, planned.map(([, { alias }]) => alias));
  const found = new Map<RootName, KmsKeyInfo>();
  for (const [root, { alias }] of planned) {
    const key = byAlias.get(alias);
    if (key) found.set(root, key);
  }
  return found;
}

/** The keys with the given aliases (one list-keys pass, then describe-key for each match), by alias. */
async function findKeysByAlias(kms: KmsClient, aliases: readonly string[]): Promise<Map<string, KmsKeyInfo>> {
  const keys = await kms.listKeys();
  const found = new Map<string, KmsKeyInfo>();
  for (const alias of new Set(aliases)) {
    const matches = keys.filter((key) => key.alias === alias);
    if (matches.length > 1) {
      throw new OtcError(
        'KMS_KEY_UNUSABLE',
        `${matches.length} KMS keys have the alias "${alias}" (${matches.map((key) => key.keyId).join(', ')}); ` +
          'KMS should not allow that: give each root its own unique alias',
      );
    }
    if (matches.length === 1) found.set(alias, await kms.describeKey(matches[0].keyId));
  }
  return found;
}

/** Why `key` cannot be the `root` root key, or nothing. */
export function rootKeyProblems(root: RootName, key: KmsKeyInfo, requirement: RootKeyRequirement, env: string): string[] {
  const name = `${root} root key ${key.keyId} (alias "${key.alias}")`;
  const problems: string[] = [];
  if (key.keySpec !== requirement.keySpec) {
    problems.push(
      `${name} has key spec ${key.keySpec ?? '(none reported)'}, but ${requirement.keySpecSource}: ` +
        (root === 'tuf' ? '' : 'set otc.kms.keySpec to match if the key is right, or ') +
        'give the root a new alias (a key spec cannot be changed)',
    );
  }
  if (key.keyUsage !== ROOT_KEY_USAGE) {
    problems.push(`${name} has key usage ${key.keyUsage ?? '(none reported)'}, expected ${ROOT_KEY_USAGE}: give the root a new alias (a key usage cannot be changed)`);
  }
  if (key.keyState !== KEY_STATE_ENABLED) {
    const fix =
      key.keyState === '3'
        ? 'enable it in the console (DEW > KMS)'
        : key.keyState === '4'
          ? 'cancel its deletion in the console, or give the root a new alias'
          : 'finish its setup in the console, or give the root a new alias';
    problems.push(`${name} is in state ${describeKeyState(key.keyState)}, expected ${describeKeyState(KEY_STATE_ENABLED)}: ${fix}, then run "sigstore-cdk keys ensure --env ${env}" again`);
  }
  return problems;
}

export interface OtcKmsRootKeysProps {
  readonly connection: KmsConnection;
  readonly roots: RootKeyPlan;
  /** The environment, for messages. */
  readonly env: string;
  /** Whether the configuration names TUF root keys outside KMS (`tuf.root.keys` with `local` or `file`). @default false */
  readonly localTufRootKeys?: boolean;
}

/**
 * Root keys in DEW KMS, found by alias. Never creates a key (that is `keys ensure`): a missing key, or
 * one with the wrong spec, usage or state, is refused before anything is signed.
 */
export class OtcKmsRootKeys implements RootKeyProvider {
  readonly description: string;
  private keys?: Promise<Map<RootName, KmsKeyInfo>>;
  private readonly signers = new Map<RootName, OtcKmsSigner>();

  /** How KMS is reached (endpoints, project, credential kind; never a credential). */
  readonly connection: KmsConnection;
  readonly tufRootKeysInKms: boolean;

  constructor(private readonly props: OtcKmsRootKeysProps) {
    this.connection = props.connection;
    this.tufRootKeysInKms = !props.localTufRootKeys;
    this.description = `OTC KMS (${props.connection.region}, project ${props.connection.projectId})`;
  }

  /** The key's public key from KMS get-publickey (after the alias lookup); signs nothing. */
  async publicKeyFor(root: RootName, _snapshot: StateSnapshot): Promise<RootPublicKey> {
    const signer = await this.kmsSigner(root);
    return {
      keyRef: signer.keyRef,
      publicKey: await signer.publicKey(),
      evidence: `KMS get-publickey of key ${signer.keyId} (alias "${this.props.roots[root]!.alias}")`,
    };
  }

  async signerFor(root: RootName, _snapshot: StateSnapshot, _now: Date): Promise<Signer> {
    return this.kmsSigner(root);
  }

  /**
   * Generation N of a root's key is the KMS key under the configured alias with its generation
   * advanced (`sigstore-fulcio-root-g1` → `-g2`): created by `keys ensure --next`, never here.
   */
  async publicKeyForGeneration(root: RootName, generation: number, snapshot: StateSnapshot): Promise<RootPublicKey> {
    const signer = (await this.signerForGeneration(root, generation, snapshot, new Date(0))) as OtcKmsSigner;
    const alias = generationPlan(this.props.roots, root, generation, this.props.env)[root]!.alias;
    return { keyRef: signer.keyRef, publicKey: await signer.publicKey(), evidence: `KMS get-publickey of key ${signer.keyId} (alias "${alias}")` };
  }

  async signerForGeneration(root: RootName, generation: number, _snapshot: StateSnapshot, _now: Date): Promise<Signer> {
    if (generation === 1) return this.kmsSigner(root);
    const { connection, roots, env } = this.props;
    const plan = generationPlan(roots, root, generation, env);
    const key = (await findRootKeys(connection.kms, plan)).get(root);
    const requirement = plan[root]!;
    if (!key) {
      throw new OtcError(
        'KMS_KEY_NOT_FOUND',
        `no KMS key has the alias "${requirement.alias}" (generation ${generation} of the ${root} root) in project ${connection.projectId}: ` +
          `run "sigstore-cdk keys ensure --env ${env} --next ${root}-root" first; nothing was written`,
      );
    }
    const problems = rootKeyProblems(root, key, requirement, env);
    if (problems.length > 0) throw new OtcError('KMS_KEY_UNUSABLE', `refusing the root key; nothing was signed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    return new OtcKmsSigner(connection.kms, key.keyId);
  }

  /** A configured TUF root key: by alias (must exist: `keys ensure`), by key id, or a local key of the state. */
  async signerForTufRootKey(source: TufRootKeySource, snapshot: StateSnapshot, now: Date): Promise<Signer> {
    if (source.local !== undefined) return localTufRootSigner(snapshot, source.local, { generate: true, now });
    if (source.file !== undefined) return fileTufRootSigner(source.file);
    const { connection, env } = this.props;
    if (source.kmsAlias !== undefined) {
      const requirement = { alias: source.kmsAlias, ...TUF_ROOT_KEY_REQUIREMENT };
      const key = (await findRootKeys(connection.kms, { tuf: requirement })).get('tuf');
      if (!key) {
        throw new OtcError(
          'KMS_KEY_NOT_FOUND',
          `no KMS key has the alias "${source.kmsAlias}" (a TUF root key, tuf.root.keys) in project ${connection.projectId} (${connection.endpoints.kms}): ` +
            `run "sigstore-cdk keys ensure --env ${env}" first; nothing was written`,
        );
      }
      return this.checkedTufSigner(key, requirement);
    }
    return this.kmsKeySigner(source.kmsKeyId!);
  }

  /** A key the state recorded: `otc-kms:<key id>` (checked with describe-key: EC_P256, SIGN_VERIFY, enabled) or a local key of the state. */
  async signerForKeyRef(keyRef: string, snapshot: StateSnapshot): Promise<Signer> {
    const keyId = keyRef.startsWith('otc-kms:') ? keyRef.slice('otc-kms:'.length) : undefined;
    if (keyId === undefined) return localSignerForKeyRef(snapshot, keyRef);
    return this.kmsKeySigner(keyId);
  }

  private async kmsKeySigner(keyId: string): Promise<Signer> {
    // A key one of the configured aliases names is already looked up (and described) with the others.
    const known = [...this.signers.values()].find((signer) => signer.keyId === keyId);
    if (known) return known;
    const tufAliasKey = this.props.roots.tuf ? (await this.lookUpAliases().catch(() => undefined))?.get('tuf') : undefined;
    if (tufAliasKey?.keyId === keyId) return this.kmsSigner('tuf');
    const key = await this.props.connection.kms.describeKey(keyId);
    return this.checkedTufSigner(key, { alias: key.alias ?? keyId, ...TUF_ROOT_KEY_REQUIREMENT });
  }

  private checkedTufSigner(key: KmsKeyInfo, requirement: RootKeyRequirement): Signer {
    const problems = rootKeyProblems('tuf', key, requirement, this.props.env);
    if (problems.length > 0) throw new OtcError('KMS_KEY_UNUSABLE', `refusing the TUF root key; nothing was signed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    return new OtcKmsSigner(this.props.connection.kms, key.keyId);
  }

  /** The keys of the configured aliases: one list-keys pass and a describe-key each, shared by every root. */
  private lookUpAliases(): Promise<Map<RootName, KmsKeyInfo>> {
    this.keys ??= findRootKeys(this.props.connection.kms, this.props.roots).catch((error) => {
      this.keys = undefined;
      throw error;
    });
    return this.keys;
  }

  private async kmsSigner(root: RootName): Promise<OtcKmsSigner> {
    const existing = this.signers.get(root);
    if (existing) return existing;
    const { connection, roots, env } = this.props;
    if (!roots[root]) {
      throw new ConfigError('CONFIG_OTC_MISSING', `environment "${env}" names no KMS key for the ${root} root: set otc.kms.${root}RootKeyAlias`);
    }
    // One lookup for every root: a missing or unusable key of any root is reported before the first signature.
    const keys = await this.lookUpAliases();
    const missing = plannedRoots(roots).filter(([name]) => !keys.has(name));
    if (missing.length > 0) {
      throw new OtcError(
        'KMS_KEY_NOT_FOUND',
        `no KMS key has the alias ${missing.map(([name, { alias }]) => `"${alias}" (${name} root)`).join(', ')} in project ` +
          `${connection.projectId} (${connection.endpoints.kms}): run "sigstore-cdk keys ensure --env ${env}" first; nothing was written`,
      );
    }
    const problems = [...keys.entries()].flatMap(([name, key]) => rootKeyProblems(name, key, roots[name]!, env));
    if (problems.length > 0) {
      throw new OtcError('KMS_KEY_UNUSABLE', `refusing the root keys; nothing was signed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    }
    const signer = new OtcKmsSigner(connection.kms, keys.get(root)!.keyId);
    this.signers.set(root, signer);
    return signer;
  }
}
