import { logChoice, type CtLogKind, type RekorApiVersion } from '../config/logs-schema';
import type { SigstoreConfig } from '../config/schema';
import { validateConfig } from '../config/validate';
import { checkCustody } from '../custody/check-custody';
import { openPasswordsFor } from '../custody/state-keyring';
import { expectPublishedTrustKept } from '../custody/published-trust';
import { isPublished } from '../custody/published-state';
import { ConfigError, StateError } from '../errors';
import { latestGeneration } from '../lifecycle/generations';
import { LOG_MIGRATIONS, MIGRATED_LOG_NAMES, migratedCtPrefix, type LogMigrationItem } from '../lifecycle/log-migrations';
import { ceremonySigners } from '../pki/ceremony-log';
import { readPkiMaterial } from '../pki/state-items';
import { mintTileLogKey, TILE_LOG_KEY_ITEMS } from '../pki/tile-log-keys';
import { silentProgress } from '../progress';
import { StateStore, type StateSnapshot } from '../state/store';
import { rootKeysFor } from '../pki/configured-root-keys';
import { refreshTufRepository } from '../trust/tuf/lifecycle';
import { readTufRepository } from '../trust/tuf/repository';
import { buildTufTargets } from '../trust/tuf/targets';
import { cutOverTimes, earlyCutOverWarnings, iso, refusePending, requirePinnedTrees, type RotateOptions, type RotateResult } from './rotate';

export interface MigrateLogOptions extends Omit<RotateOptions, 'item'> {
  readonly item: LogMigrationItem;
}

/** What `rotate rekor-log | ct-log` did: a rotation result whose one generation is the new log. */
export interface MigrateLogResult extends Omit<RotateResult, 'item' | 'generations'> {
  readonly item: LogMigrationItem;
  readonly generations: readonly { readonly item: LogMigrationItem; readonly generation: 2; readonly itemId: string; readonly activeFrom: string; readonly previousValidUntil: string }[];
}

/**
 * `sigstore-cdk rotate rekor-log` (`ct-log`): the planned migration of a published environment from
 * Rekor v1 to Rekor v2 (ct_server to TesseraCT), to the log `logs.rekor` (`logs.ct`) names. Under the
 * state lock it mints the new log's key, records the migration as generation 2 of the item
 * (lib/lifecycle/log-migrations.ts: cut-over `at`, the old log's validFor end `at` + `overlap`),
 * publishes the new trust in TUF (trusted_root.json lists both logs, the signing config both Rekor
 * URLs by validFor) and commits. From then on synth deploys both servers; from the cut-over the old
 * log is frozen (read-only, still deployed) and Fulcio submits to TesseraCT.
 */
export async function runLogMigration(options: MigrateLogOptions): Promise<MigrateLogResult> {
  const { config, item } = options;
  validateConfig(config);
  const migration = LOG_MIGRATIONS[item];
  const chosen = migration.log === 'rekor' ? logChoice(config).rekor : logChoice(config).ct;
  if (chosen !== migration.to) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `rotate ${item}: ${migration.field} is "${chosen}"; the migration moves the published log to the one ${migration.field} names, so set ${migration.field}: ${migration.to} first (accepted: "${migration.to}")`,
    );
  }
  const clock = options.clock ?? (() => new Date());
  const progress = options.progress ?? silentProgress;
  const now = clock();
  const { activeFrom, previousValidUntil } = cutOverTimes(config, now, options);
  const store = new StateStore({ root: options.stateRoot, env: config.env, lock: options.lock });
  return store.withLock(async () => {
    const snapshot = await store.load();
    await checkCustody(snapshot, store.directory);
    refuseNothingToMigrate(snapshot, item, now, store.directory);
    // An otc-kms state's passwords are sealed: the new log key's password is sealed with the data
    // key, and the TUF targets are re-signed with the online key (one decrypt-datakey, as rotate does).
    await openPasswordsFor(config, snapshot, store.directory, { rootKeys: options.rootKeys, kms: options.kms, environment: options.environment, progress });
    const before = await readPkiMaterial(snapshot, { at: now });
    expectPublishedTrustKept(readTufRepository(snapshot).targets.signed, buildTufTargets(before, asStateRuns(config, snapshot)), store.directory);
    const keyItem = migration.log === 'rekor' ? 'rekor-key' : 'ctlog-key';
    refusePending(snapshot, keyItem, now);
    // From the cut-over the old log's trees are frozen: their ids must be pinned, never guessed.
    requirePinnedTrees(config, migration.log, latestGeneration(snapshot, keyItem).generation, `rotate ${item}`);

    const record = { generation: 2 as const, itemId: migration.keyItem.id, activeFrom: activeFrom.toISOString(), previousValidUntil: previousValidUntil.toISOString() };
    await progress.step(`mint ${migration.keyItem.id}, the key of ${migration.server}`, async () => {
      mintTileLogKey(snapshot, migration.keyItem, now);
      snapshot.addGeneration(item, record);
    });
    const material = await readPkiMaterial(snapshot, { at: now });
    const rootKeys = options.rootKeys ?? rootKeysFor(config);
    const ceremonySigner = ceremonySigners({ rootKeys, snapshot, store, clock, operator: options.operator });
    const published = await refreshTufRepository(snapshot, { config: asStateRuns(config, snapshot), material, rootSigner: () => ceremonySigner('tuf'), now, progress });
    const stateWritten = await store.commit(snapshot);
    return {
      env: config.env,
      item,
      generations: [{ item, ...record }],
      activeFrom: iso(activeFrom),
      previousValidUntil: iso(previousValidUntil),
      published,
      stateWritten,
      deploy: migrationDeploySteps(config, item, activeFrom, previousValidUntil, latestGeneration(snapshot, keyItem).generation),
      warnings: earlyCutOverWarnings(config, now, activeFrom, 'a client that cached the old signing config until then still signs with the old log, which takes no entries from the cut-over on'),
    };
  });
}

/**
 * A migration needs a published state whose log is still the Trillian-backed one; anything else is
 * refused before anything is minted. An unpublished state switches by configuration alone.
 */
function refuseNothingToMigrate(snapshot: StateSnapshot, item: LogMigrationItem, now: Date, directory: string): void {
  const migration = LOG_MIGRATIONS[item];
  const recorded = snapshot.generationRecords(item)[0];
  if (recorded) {
    const cutOver = new Date(recorded.activeFrom);
    if (cutOver.getTime() > now.getTime()) {
      throw new StateError('STATE_ROTATION_PENDING', `${item}: the migration to ${migration.server} takes over at ${iso(cutOver)}; nothing was changed (deploy it: see the steps "rotate ${item}" printed)`);
    }
    throw new ConfigError('CONFIG_INVALID', `rotate ${item}: state ${directory} migrated to ${migration.server} at ${iso(cutOver)} already; there is nothing to migrate`);
  }
  if (snapshot.item(migration.keyItem.id)) {
    throw new ConfigError('CONFIG_INVALID', `rotate ${item}: state ${directory} runs ${migration.server} from the start (${migration.keyItem.id}); there is nothing to migrate`);
  }
  if (!isPublished(snapshot)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `rotate ${item}: state ${directory} has published no trust yet, so there is no log to migrate: with ${migration.field}: ${migration.to} "sigstore-cdk synth" (or bootstrap) mints ${migration.keyItem.id} and deploys only the new log`,
    );
  }
}

/** The configuration with each log set to what the state runs (the key it holds): what its published trust was built from. */
function asStateRuns(config: SigstoreConfig, snapshot: StateSnapshot): SigstoreConfig {
  const rekor: RekorApiVersion = snapshot.item(TILE_LOG_KEY_ITEMS.rekorV2.id) ? 'v2' : 'v1';
  const ct: CtLogKind = snapshot.item(TILE_LOG_KEY_ITEMS.tesseract.id) ? 'tesseract' : 'trillian';
  return { ...config, logs: { ...config.logs, rekor, ct } };
}

function migrationDeploySteps(config: SigstoreConfig, item: LogMigrationItem, activeFrom: Date, previousValidUntil: Date, oldGeneration: number): string[] {
  const { env } = config;
  const namespace = config.cluster.namespace;
  const migration = LOG_MIGRATIONS[item];
  const newName = MIGRATED_LOG_NAMES[migration.log];
  const oldName = migration.log;
  const hostname = config.services[migration.log].hostname;
  const path = migration.log === 'rekor' ? '/api/v2' : `/${migratedCtPrefix(config.services.ctlog.prefix)}`;
  const route = hostname
    ? `the Ingress of ${hostname} sends ${path} to it`
    : `its in-cluster URL http://${newName}.${namespace}.svc${migration.log === 'ctlog' ? path : ''}`;
  const freezeJob = `${oldGeneration === 1 ? oldName : `${oldName}-g${oldGeneration}`}-freeze`;
  return [
    `1. now, the new log beside the old one: sigstore-cdk synth --env ${env}; kubectl apply -f dist/sigstore.secrets.k8s.yaml -f dist/sigstore.k8s.yaml ` +
      `(deployment/${newName} starts beside deployment/${oldName}; ${route}); kubectl -n ${namespace} rollout status deployment/${newName}; ` +
      `then publish dist/trust/tuf/ (trusted_root.json lists both logs${migration.log === 'rekor' ? '; the signing config names Rekor v2 from the cut-over, and sigstore-js signs with the newest-starting Rekor as soon as it fetches it, so Rekor v2 must be up first' : ''})`,
    `2. at ${iso(activeFrom)} or later, the switch: sigstore-cdk synth --env ${env} --at ${iso(activeFrom)}; kubectl apply -f dist/sigstore.secrets.k8s.yaml -f dist/sigstore.k8s.yaml: ` +
      `Job ${freezeJob} freezes the old log's tree (updatetree --tree_state=FROZEN) and ${oldName} rolls read-only ` +
      `(${migration.log === 'rekor' ? 'no createLogEntry' : 'its log configs is_readonly'}), still serving what it logged` +
      (migration.log === 'ctlog'
        ? `; deployment/fulcio rolls and submits to TesseraCT (--ct-log-url .../${migratedCtPrefix(config.services.ctlog.prefix)}): kubectl -n ${namespace} rollout status deployment/fulcio`
        : ''),
    `3. from ${iso(previousValidUntil)} the old log's validFor has ended: what it integrated after that no longer verifies; it stays deployed read-only (nothing to deploy)`,
  ];
}
