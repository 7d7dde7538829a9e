import { OtcError } from '../errors';
import { describeKeyState, KEY_STATE_ENABLED, type KmsClient, type KmsKeyInfo, type KmsKeySpec } from '../otc/kms-client';
import type { KmsConnection, OtcConfig } from '../otc/kms-connection';
import { silentProgress, type Progress } from '../progress';
import type { StateSnapshot } from '../state/store';
import { OtcKmsSigner } from './otc-kms-signer';
import type { RootKeyProvider, RootName } from './root-keys';
import type { Signer } from './signer';

/** The KMS alias of each root's key. Adding a root (e.g. `tuf`) to RootName adds one line to `rootKeyAliases`. */
export type RootKeyAliases = Readonly<Record<RootName, string>>;

/** The key spec root keys may have (the schema's `otc.kms.keySpec`). */
export type RootKeySpec = Extract<KmsKeySpec, 'EC_P256' | 'EC_P384'>;

/** Root keys sign certificates, so they are asymmetric SIGN_VERIFY keys. */
export const ROOT_KEY_USAGE = 'SIGN_VERIFY';

/** The aliases from `otc.kms`. */
export function rootKeyAliases(otc: OtcConfig): RootKeyAliases {
  return {
    fulcio: otc.kms.fulcioRootKeyAlias,
    tsa: otc.kms.tsaRootKeyAlias,
  };
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
  readonly aliases: RootKeyAliases;
  readonly keySpec: RootKeySpec;
  /** The environment, for messages. */
  readonly env: string;
  /** @default - silent */
  readonly progress?: Progress;
}

/**
 * `keys ensure`: makes sure each root has an enabled asymmetric SIGN_VERIFY key of the configured spec
 * under its alias, creating the missing ones. Idempotent by alias. Every existing key is checked
 * before anything is created: a key with the wrong spec, usage or state is refused (KMS_KEY_UNUSABLE)
 * and nothing is created.
 */
export async function ensureRootKeys(options: EnsureRootKeysOptions): Promise<RootKeyStatus[]> {
  const { kms, aliases, keySpec, env } = options;
  const progress = options.progress ?? silentProgress;
  const roots = Object.keys(aliases) as RootName[];
  const found = await progress.step(`look up ${roots.length} root key aliases in KMS`, () => findRootKeys(kms, aliases));
  const problems = roots.flatMap((root) => {
    const key = found.get(root);
    return key ? rootKeyProblems(root, key, keySpec, env) : [];
  });
  if (problems.length > 0) {
    throw new OtcError('KMS_KEY_UNUSABLE', `refusing the existing root keys; nothing was created:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  const statuses: RootKeyStatus[] = [];
  for (const root of roots) {
    const alias = aliases[root];
    let key = found.get(root);
    let created = false;
    if (!key) {
      key = await progress.step(`create ${keySpec} ${ROOT_KEY_USAGE} key "${alias}" (${root} root)`, async () => {
        try {
          return await kms.describeKey(await kms.createKey({ alias, keySpec, keyUsage: ROOT_KEY_USAGE, description: `sigstore-cdk ${env} ${root} root key` }));
        } catch (error) {
          // A create whose answer was lost (timeout, 5xx) and then retried finds its own key under the alias.
          if (!(error instanceof OtcError && error.code === 'KMS_ALIAS_TAKEN')) throw error;
          const again = (await findRootKeys(kms, { [root]: alias } as RootKeyAliases)).get(root);
          if (!again) throw error;
          return again;
        }
      });
      const afterCreate = rootKeyProblems(root, key, keySpec, env);
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
export async function findRootKeys(kms: KmsClient, aliases: Partial<RootKeyAliases>): Promise<Map<RootName, KmsKeyInfo>> {
  const keys = await kms.listKeys();
  const found = new Map<RootName, KmsKeyInfo>();
  for (const [root, alias] of Object.entries(aliases) as [RootName, string][]) {
    const matches = keys.filter((key) => key.alias === alias);
    if (matches.length > 1) {
      throw new OtcError(
        'KMS_KEY_UNUSABLE',
        `${matches.length} KMS keys have the alias "${alias}" (${matches.map((key) => key.keyId).join(', ')}); ` +
          'KMS should not allow that: give each root its own unique alias',
      );
    }
    if (matches.length === 1) found.set(root, await kms.describeKey(matches[0].keyId));
  }
  return found;
}

/** Why `key` cannot be the `root` root key, or nothing. */
export function rootKeyProblems(root: RootName, key: KmsKeyInfo, keySpec: RootKeySpec, env: string): string[] {
  const name = `${root} root key ${key.keyId} (alias "${key.alias}")`;
  const problems: string[] = [];
  if (key.keySpec !== keySpec) {
    problems.push(
      `${name} has key spec ${key.keySpec ?? '(none reported)'}, but otc.kms.keySpec is ${keySpec}: set otc.kms.keySpec to match ` +
        'if the key is right, or give the root a new alias (a key spec cannot be changed)',
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
  readonly aliases: RootKeyAliases;
  readonly keySpec: RootKeySpec;
  /** The environment, for messages. */
  readonly env: string;
}

/**
 * Root keys in DEW KMS, found by alias. Never creates a key (that is `keys ensure`): a missing key, or
 * one with the wrong spec, usage or state, is refused before anything is signed.
 */
export class OtcKmsRootKeys implements RootKeyProvider {
  readonly description: string;
  private keys?: Promise<Map<RootName, KmsKeyInfo>>;
  private readonly signers = new Map<RootName, Signer>();

  /** How KMS is reached (endpoints, project, credential kind; never a credential). */
  readonly connection: KmsConnection;

  constructor(private readonly props: OtcKmsRootKeysProps) {
    this.connection = props.connection;
    this.description = `OTC KMS (${props.connection.region}, project ${props.connection.projectId})`;
  }

  async signerFor(root: RootName, _snapshot: StateSnapshot, _now: Date): Promise<Signer> {
    const existing = this.signers.get(root);
    if (existing) return existing;
    const { connection, aliases, keySpec, env } = this.props;
    // One lookup for every root: a missing or unusable key of either root is reported before the first signature.
    this.keys ??= findRootKeys(connection.kms, aliases).catch((error) => {
      this.keys = undefined;
      throw error;
    });
    const keys = await this.keys;
    const missing = (Object.keys(aliases) as RootName[]).filter((name) => !keys.has(name));
    if (missing.length > 0) {
      throw new OtcError(
        'KMS_KEY_NOT_FOUND',
        `no KMS key has the alias ${missing.map((name) => `"${aliases[name]}" (${name} root)`).join(', ')} in project ` +
          `${connection.projectId} (${connection.endpoints.kms}): run "sigstore-cdk keys ensure --env ${env}" first; nothing was written`,
      );
    }
    const problems = [...keys.entries()].flatMap(([name, key]) => rootKeyProblems(name, key, keySpec, env));
    if (problems.length > 0) {
      throw new OtcError('KMS_KEY_UNUSABLE', `refusing the root keys; nothing was signed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    }
    const signer = new OtcKmsSigner(connection.kms, keys.get(root)!.keyId);
    this.signers.set(root, signer);
    return signer;
  }
}
