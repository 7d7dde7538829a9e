import { addDuration, formatDuration, parseDuration, DURATION_HELP, type Duration } from '../config/duration';
import type { SigstoreConfig } from '../config/schema';
import { SERVICE_NAMES } from '../config/service-urls';
import { logChoice } from '../config/logs-schema';
import { validateConfig } from '../config/validate';
import { checkCustody } from '../custody/check-custody';
import { openPasswordsFor } from '../custody/state-keyring';
import { expectPublishedTrustKept } from '../custody/published-trust';
import { ConfigError, StateError } from '../errors';
import { CERTIFICATE_HISTORY, latestGeneration, type CertificateItem, type GenerationalItem } from '../lifecycle/generations';
import { renewIntermediate, renewLogKey, renewRoot, renewTsaLeaf, type AddedGeneration, type RenewalContext } from '../lifecycle/renewal';
import { DEFAULT_OVERLAP, ROTATABLE_ITEMS, isRotatableItem, type RotatableItem } from '../lifecycle/rotatable-items';
import { isLogMigrationItem, LOG_MIGRATION_ITEMS, type LogMigrationItem } from '../lifecycle/log-migrations';
import { CeremonyLogWriter, ceremonyOperator, ceremonySigners, withCeremonyLog } from '../pki/ceremony-log';
import type { Signer } from '../pki/signer';
import type { RootKeyProvider } from '../pki/root-keys';
import { readPkiMaterial, type PkiMaterial } from '../pki/state-items';
import { silentProgress } from '../progress';
import { StateStore, type StateSnapshot } from '../state/store';
import { rootKeysFor } from '../pki/configured-root-keys';
import type { StateLocation } from '../synth';
import { refreshTufRepository, type TufPublication } from '../trust/tuf/lifecycle';
import { readTufRepository } from '../trust/tuf/repository';
import { buildTufTargets } from '../trust/tuf/targets';

export { DEFAULT_OVERLAP, ROTATABLE_ITEMS, isRotatableItem, type RotatableItem };


export interface RotateOptions extends StateLocation {
  readonly config: SigstoreConfig;
  readonly item: RotatableItem;
  /**
   * The cut-over: when servers switch to the new generation. Not before now.
   * @default - now plus tuf.expiry.timestamp: every client that follows TUF has fetched the new trust by then
   */
  readonly at?: Date;
  /** How long after the cut-over the old generation stays valid (its validFor.end). @default 1d */
  readonly overlap?: Duration;
  /** Who holds the root keys (asked for only when a root signs). @default - the configured signer */
  readonly rootKeys?: RootKeyProvider;
  /** Recorded in the ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER */
  readonly operator?: string;
}

export interface RotateResult {
  readonly env: string;
  readonly item: RotatableItem;
  /** The generations added (a new TSA intermediate brings a new TSA leaf). */
  readonly generations: readonly AddedGeneration[];
  /** The cut-over and the end of the old generation's validFor. */
  readonly activeFrom: string;
  readonly previousValidUntil: string;
  /** The TUF metadata published with the new trust material. */
  readonly published: readonly TufPublication[];
  readonly stateWritten: boolean;
  /** What to deploy, in order: the trust first, then (from the cut-over) the server switch. */
  readonly deploy: readonly string[];
  /** What the operator should know (a cut-over sooner than clients refresh their trust). */
  readonly warnings: readonly string[];
}

/**
 * `sigstore-cdk rotate <item>`: a planned rotation. Under the state lock it checks the state's custody,
 * mints the next generation of the item (lib/lifecycle/renewal.ts; old generations stay), records its
 * cut-over (`at`) and the end of the old generation's validFor (`at` + `overlap`) in the manifest,
 * publishes the new trust in TUF (new targets: trusted_root.json lists both generations), and commits.
 * Servers keep the old generation until the cut-over: `synth --at` renders the Secrets of whichever
 * generation is active then. Items this build cannot rotate are refused before anything is read.
 */
export async function runRotate(options: RotateOptions): Promise<RotateResult> {
  const { config, item } = options;
  // The TUF root is not a generation with a cut-over: the CLI sends it to rotateTufRoot (rotate-tuf-root.ts).
  if (item === 'tuf-root') {
    throw new ConfigError('CONFIG_INVALID', 'rotate tuf-root: the TUF root is rotated by rotateTufRoot (lib/commands/rotate-tuf-root.ts), not by runRotate');
  }
  validateConfig(config);
  refuseTileBasedLog(config, item);
  const clock = options.clock ?? (() => new Date());
  const progress = options.progress ?? silentProgress;
  const now = clock();
  const { activeFrom, previousValidUntil } = cutOverTimes(config, now, options);
  const store = new StateStore({ root: options.stateRoot, env: config.env, lock: options.lock });
  return store.withLock(async () => {
    const snapshot = await store.load();
    await checkCustody(snapshot, store.directory);
    await openPasswordsFor(config, snapshot, store.directory, { rootKeys: options.rootKeys, kms: options.kms, environment: options.environment, progress });
    const before = await readPkiMaterial(snapshot, { at: now });
    expectPublishedTrustKept(readTufRepository(snapshot).targets.signed, buildTufTargets(before, config), store.directory);
    for (const affected of affectedItems(item)) refusePending(snapshot, affected, now);
    const expiredInUse = checkCutOverAgainstExpiry(before, item, now, activeFrom, options.at === undefined ? `the default: now plus tuf.expiry.timestamp ${formatDuration(config.tuf.expiry.timestamp)}` : '--at');
    if (item === 'rekor-key' || item === 'ctlog-key') requirePinnedTrees(config, item === 'rekor-key' ? 'rekor' : 'ctlog', latestGeneration(snapshot, item).generation);

    const rootKeys = options.rootKeys ?? rootKeysFor(config);
    const ceremonySigner = ceremonySigners({ rootKeys, snapshot, store, clock, operator: options.operator });
    const generationSigners = new Map<string, Promise<Signer>>();
    const context: RenewalContext = {
      snapshot,
      config,
      now,
      activeFrom,
      previousValidUntil,
      rootSigner: (root, generation) => {
        if (generation === 1) return ceremonySigner(root);
        const key = `${root}-g${generation}`;
        let signer = generationSigners.get(key);
        if (!signer) {
          if (!rootKeys.signerForGeneration) {
            throw new ConfigError('CONFIG_INVALID', `rotate ${item}: ${rootKeys.description} cannot provide generation ${generation} of the ${root} root key`);
          }
          signer = rootKeys
            .signerForGeneration(root, generation, snapshot, now)
            .then((inner) => withCeremonyLog(inner, { env: config.env, operator: ceremonyOperator(options.operator), clock, log: new CeremonyLogWriter(store) }));
          generationSigners.set(key, signer);
        }
        return signer;
      },
    };
    const generations = await progress.step(`mint the next generation of ${item}`, () => mintNext(context, item));
    const material = await readPkiMaterial(snapshot, { at: now });
    const published = await refreshTufRepository(snapshot, { config, material, rootSigner: () => ceremonySigner('tuf'), now, progress });
    const stateWritten = await store.commit(snapshot);
    const warnings = [...expiredInUse, ...earlyCutOverWarnings(config, now, activeFrom, 'a client that cached the old trust until then refuses what the new generation signs')];
    return {
      env: config.env,
      item,
      generations,
      activeFrom: iso(activeFrom),
      previousValidUntil: iso(previousValidUntil),
      published,
      stateWritten,
      deploy: deploySteps(config, generations, activeFrom, previousValidUntil),
      warnings,
    };
  });
}

/** The cut-over (`at`, default now plus tuf.expiry.timestamp; never in the past) and the end of the old validFor (cut-over plus `overlap`, default 1d). */
export function cutOverTimes(config: SigstoreConfig, now: Date, options: { readonly at?: Date; readonly overlap?: Duration }): { activeFrom: Date; previousValidUntil: Date } {
  const activeFrom = options.at ?? addDuration(now, config.tuf.expiry.timestamp);
  if (activeFrom.getTime() < now.getTime()) {
    throw new ConfigError('CONFIG_INVALID', `--at ${activeFrom.toISOString()} is in the past; the cut-over must be now (${now.toISOString()}) or later`);
  }
  const overlap = options.overlap ?? parseDuration(DEFAULT_OVERLAP)!;
  return { activeFrom, previousValidUntil: addDuration(activeFrom, overlap) };
}

/** A warning when the cut-over comes before every client has fetched the new trust (the current TUF timestamp's expiry). */
export function earlyCutOverWarnings(config: SigstoreConfig, now: Date, activeFrom: Date, consequence: string): string[] {
  const clientsRefreshBy = addDuration(now, config.tuf.expiry.timestamp);
  if (activeFrom.getTime() >= clientsRefreshBy.getTime()) return [];
  return [
    `the cut-over ${iso(activeFrom)} comes before the current TUF timestamp expires for clients (${iso(clientsRefreshBy)}, tuf.expiry.timestamp ${formatDuration(config.tuf.expiry.timestamp)}): ${consequence}`,
  ];
}

/** Parses `rotate`'s arguments (item, `--at`, `--overlap`), naming the bad one, the value and what is accepted. */
export function parseRotateArguments(item: string, at: string | undefined, overlap: string | undefined): { item: RotatableItem | LogMigrationItem; at?: Date; overlap?: Duration } {
  if (!isRotatableItem(item) && !isLogMigrationItem(item)) {
    throw new ConfigError('CONFIG_INVALID', `rotate: unknown item ${JSON.stringify(item)}; expected one of ${[...ROTATABLE_ITEMS, ...LOG_MIGRATION_ITEMS].join(', ')}`);
  }
  const cutOver = at === undefined ? undefined : parseCutOver(at);
  let parsedOverlap: Duration | undefined;
  if (overlap !== undefined) {
    parsedOverlap = parseDuration(overlap);
    if (!parsedOverlap) throw new ConfigError('CONFIG_INVALID', `--overlap ${JSON.stringify(overlap)} is not ${DURATION_HELP}`);
  }
  return { item, ...(cutOver ? { at: cutOver } : {}), ...(parsedOverlap ? { overlap: parsedOverlap } : {}) };
}

/** `--at`: a UTC time in ISO 8601 (`2027-03-01T08:00:00Z`); anything else is CONFIG_INVALID naming the value. */
export function parseCutOver(at: string): Date {
  const parsed = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/.test(at) ? new Date(at) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new ConfigError('CONFIG_INVALID', `--at ${JSON.stringify(at)} is not a UTC time; expected ISO 8601 such as "2027-03-01T08:00:00Z"`);
  }
  return parsed;
}

async function mintNext(context: RenewalContext, item: Exclude<RotatableItem, 'tuf-root'>): Promise<AddedGeneration[]> {
  switch (item) {
    case 'tsa-leaf':
      return [await renewTsaLeaf(context)];
    case 'fulcio-intermediate':
      return renewIntermediate(context, 'fulcio');
    case 'tsa-intermediate':
      return renewIntermediate(context, 'tsa');
    case 'fulcio-root':
      return renewRoot(context, 'fulcio');
    case 'tsa-root':
      return renewRoot(context, 'tsa');
    case 'rekor-key':
      return [await renewLogKey(context, 'rekor-key')];
    case 'ctlog-key':
      return [await renewLogKey(context, 'ctlog-key')];
  }
}

/** The items a rotation of `item` gives a new generation. */
function affectedItems(item: RotatableItem): GenerationalItem[] {
  switch (item) {
    case 'tsa-intermediate':
      return ['tsa-intermediate', 'tsa-leaf'];
    case 'fulcio-root':
      return ['fulcio-root', 'fulcio-intermediate'];
    case 'tsa-root':
      return ['tsa-root', 'tsa-intermediate', 'tsa-leaf'];
    case 'tuf-root':
      return [];
    default:
      return [item];
  }
}

/** One planned rotation at a time: a generation whose cut-over is still ahead must take effect first. */
export function refusePending(snapshot: StateSnapshot, item: GenerationalItem, now: Date): void {
  const latest = latestGeneration(snapshot, item);
  if (latest.activeFrom && latest.activeFrom.getTime() > now.getTime()) {
    throw new StateError(
      'STATE_ROTATION_PENDING',
      `${item} generation ${latest.generation} (${latest.itemId}) takes over at ${iso(latest.activeFrom)}; nothing was changed. ` +
        'Rotate again after that cut-over (deploy it first: see the steps "rotate" printed)',
    );
  }
}

/**
 * Servers keep the generation in use until the cut-over: a cut-over after that generation's
 * certificate expires would leave them signing with an expired certificate (timestamps and leaf
 * certificates no client accepts) in between. Refused (CONFIG_INVALID), naming the latest cut-over
 * that works, before anything is minted or written. A generation that has already expired is the
 * recovery case: the rotation goes ahead, and the returned warnings say to cut over at once.
 */
export function checkCutOverAgainstExpiry(material: PkiMaterial, item: RotatableItem, now: Date, activeFrom: Date, atSource: string): string[] {
  const warnings: string[] = [];
  for (const affected of affectedItems(item)) {
    if (!(affected in CERTIFICATE_HISTORY)) continue;
    const history = material.history[CERTIFICATE_HISTORY[affected as CertificateItem]];
    const inUse = history.find((entry) => entry.generation === material.activeGenerations[affected]);
    const notAfter = inUse?.certificate.notAfter;
    if (!inUse || !notAfter || notAfter.getTime() >= activeFrom.getTime()) continue;
    if (notAfter.getTime() < now.getTime()) {
      warnings.push(
        `${affected} g${inUse.generation} (${inUse.path}) expired ${iso(notAfter)} and servers use it until the cut-over ${iso(activeFrom)}: ` +
          'deploy the cut-over (step 2) as soon as the trust is published',
      );
      continue;
    }
    throw new ConfigError(
      'CONFIG_INVALID',
      `rotate ${item}: servers use ${affected} g${inUse.generation} (${inUse.path}) until the cut-over ${iso(activeFrom)} (${atSource}), ` +
        `but it expires ${iso(notAfter)}: they would sign with an expired certificate in between; ` +
        `choose --at ${iso(notAfter)} or earlier (nothing was changed)`,
    );
  }
  return warnings;
}

/** Log shards are for the Trillian-backed logs; a tile-based log (Rekor v2, TesseraCT) has its one key. */
function refuseTileBasedLog(config: SigstoreConfig, item: RotatableItem): void {
  const logs = logChoice(config);
  const tileBased = (item === 'rekor-key' && logs.rekor !== 'v1') || (item === 'ctlog-key' && logs.ct !== 'trillian');
  if (!tileBased) return;
  throw new ConfigError(
    'CONFIG_INVALID',
    `rotate ${item}: the ${item === 'rekor-key' ? 'Rekor log is Rekor v2 (logs.rekor: v2)' : 'CT log is TesseraCT (logs.ct: tesseract)'}, a tile-based log with one key: ` +
      'log shards are for the Trillian-backed logs; a tile-based log gets a new key as a new log instance (a new origin), which this build does not rotate',
  );
}

/**
 * A new log shard makes every older one inactive: Rekor's sharding config and ct_server's read-only
 * log configs name their trees, so their ids must be pinned (services.trillian.treeIds) before the
 * rotation, never guessed.
 */
export function requirePinnedTrees(config: SigstoreConfig, log: 'rekor' | 'ctlog', latest: number, command = `rotate ${log}-key`): void {
  const treeIds = config.services.trillian.treeIds;
  const namespace = config.cluster.namespace;
  const missing: string[] = [];
  if (!treeIds) missing.push(`services.trillian.treeIds.${log} (kubectl -n ${namespace} get configmap ${log}-tree -o jsonpath='{.data.treeID}')`);
  const shards = log === 'rekor' ? treeIds?.rekorShards : treeIds?.ctlogShards;
  for (let generation = 2; generation <= latest; generation++) {
    if (!shards?.[generation - 2]) {
      missing.push(`services.trillian.treeIds.${log}Shards[${generation - 2}] (kubectl -n ${namespace} get configmap ${log}-g${generation}-tree -o jsonpath='{.data.treeID}')`);
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${command}: the current ${log === 'rekor' ? 'Rekor' : 'CT log'} shards become inactive and the servers need their tree ids; pin them first (nothing was changed): ${missing.join(', ')}`,
    );
  }
}

/** The component that loads each item, for the restart step. */
const SERVER_OF: Record<GenerationalItem, string> = {
  'fulcio-root': SERVICE_NAMES.fulcio,
  'fulcio-intermediate': SERVICE_NAMES.fulcio,
  'tsa-root': SERVICE_NAMES.tsa,
  'tsa-intermediate': SERVICE_NAMES.tsa,
  'tsa-leaf': SERVICE_NAMES.tsa,
  'ctlog-key': SERVICE_NAMES.ctlog,
  'rekor-key': SERVICE_NAMES.rekor,
};

function deploySteps(config: SigstoreConfig, generations: readonly AddedGeneration[], activeFrom: Date, previousValidUntil: Date): string[] {
  const env = config.env;
  const namespace = config.cluster.namespace;
  // A new CT log shard also moves Fulcio, which submits to the new prefix.
  const servers = [...new Set(generations.flatMap((generation) => (generation.item === 'ctlog-key' ? [SERVER_OF[generation.item], SERVICE_NAMES.fulcio] : [SERVER_OF[generation.item]])))];
  const names = generations.map((generation) => `${generation.item} g${generation.generation}`).join(', ');
  const shard = generations.find((generation) => generation.item === 'rekor-key' || generation.item === 'ctlog-key');
  const log = shard?.item === 'ctlog-key' ? 'ctlog' : 'rekor';
  return [
    `1. now, the trust: sigstore-cdk synth --env ${env}; publish dist/trust/tuf/ (the TUF repository, targets naming ${names}) and apply dist/sigstore.k8s.yaml ` +
      '(the trust-roots ConfigMap; for a new Fulcio root the CT log rolls to accept both roots); servers keep the old generation' +
      (shard
        ? `; this creates the new shard's tree (Job ${log}-g${shard.generation}-createtree): pin its id as services.trillian.treeIds.${log}Shards[${shard.generation - 2}] ` +
          `(kubectl -n ${namespace} get configmap ${log}-g${shard.generation}-tree -o jsonpath='{.data.treeID}')`
        : ''),
    `2. at ${iso(activeFrom)} or later, the server switch: sigstore-cdk synth --env ${env} --at ${iso(activeFrom)}; ` +
      `kubectl apply -f dist/sigstore.secrets.k8s.yaml -f dist/sigstore.k8s.yaml, which rolls ${servers.map((server) => `deployment/${server}`).join(' and ')} ` +
      `(their inputs' checksum changed); wait for it: ${servers.map((server) => `kubectl -n ${namespace} rollout status deployment/${server}`).join('; ')}`,
    ...(shard
      ? [
          `   the switch also runs Job ${shard.generation === 2 ? log : `${log}-g${shard.generation - 1}`}-freeze (updatetree --tree_state=FROZEN): the old shard stays readable, takes no new entries` +
            (log === 'ctlog' ? `; Fulcio submits to the new prefix ${config.services.ctlog.prefix}-g${shard.generation} from then on` : ''),
        ]
      : []),
    `3. from ${iso(previousValidUntil)} the old generation's validFor has ended: what it signs after that no longer verifies; nothing to deploy`,
  ];
}

export function iso(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
