import { Construct } from 'constructs';
import { IMAGES, type PinnedImage } from '../config/images';
import { rekorV2Origin, tesseractOrigin, tesseractPrefix } from '../config/log-origins';
import { MIGRATED_LOG_NAMES } from '../lifecycle/log-migrations';
import { logChoice } from '../config/logs-schema';
import type { SigstoreConfig } from '../config/schema';
import { StateError } from '../errors';
import type { PkiMaterial } from '../pki/state-items';
import { serverKeyPem } from '../pki/tile-log-keys';
import { RekorTiles } from './rekor-tiles';
import { TesseraCt } from './tesseract';

export interface TileLogsProps {
  readonly config: SigstoreConfig;
  /** The verified material; holds the tile-based logs' keys when the configuration runs them. */
  readonly material: PkiMaterial;
  readonly secretsScope: Construct;
  /** The pull reference of a pinned image (the mirror, when configured). */
  readonly image: (pinned: PinnedImage) => string;
}

/**
 * The tile-based logs the configuration selects (`logs.rekor: v2`, `logs.ct: tesseract`), with their
 * keys from the state and their origins from lib/config/log-origins.ts (the same strings as the trust
 * outputs). A log the configuration keeps on Trillian is undefined here and built by SigstoreChart.
 */
export class TileLogs extends Construct {
  readonly rekor?: RekorTiles;
  readonly ctlog?: TesseraCt;

  constructor(scope: Construct, id: string, props: TileLogsProps) {
    super(scope, id);
    const { config, material } = props;
    const logs = logChoice(config);
    const key = (value: { privateKey: { pem: string; password: string } } | undefined, item: string, field: string) => {
      if (value) return value.privateKey;
      throw new StateError('STATE_INCOMPLETE', `the state lacks ${item}, the key of the log that ${field} selects; run "sigstore-cdk bootstrap" (or synth with the local signer)`);
    };
    const namespace = config.cluster.namespace;
    // A tile-based log that replaced a Trillian-backed one runs beside it under its own name and URL.
    const migrated = { rekor: material.logMigrations?.rekor !== undefined, ctlog: material.logMigrations?.ctlog !== undefined };
    if (logs.rekor === 'v2') {
      this.rekor = new RekorTiles(this, 'RekorTiles', {
        namespace,
        ...(migrated.rekor ? { name: MIGRATED_LOG_NAMES.rekor } : {}),
        origin: rekorV2Origin(config, migrated.rekor),
        signingKeyPem: serverKeyPem(key(material.tileLogs?.rekorV2, 'rekor-v2-key', 'logs.rekor "v2"'), 'pkcs8'),
        storage: config.logs.rekorStorage,
        secretsScope: props.secretsScope,
        image: props.image(IMAGES.rekorTilesPosix),
      });
    }
    if (logs.ct === 'tesseract') {
      this.ctlog = new TesseraCt(this, 'TesseraCt', {
        namespace,
        ...(migrated.ctlog ? { name: MIGRATED_LOG_NAMES.ctlog } : {}),
        prefix: tesseractPrefix(config, migrated.ctlog),
        origin: tesseractOrigin(config, migrated.ctlog),
        // Every Fulcio root still valid: during a fulcio-root rotation the log accepts chains to both.
        rootsPem: material.rootsInUse.fulcio.map((root) => `${root.toString('pem')}\n`).join(''),
        signingKeyPem: serverKeyPem(key(material.tileLogs?.tesseract, 'tesseract-key', 'logs.ct "tesseract"'), 'sec1'),
        storage: config.logs.ctStorage,
        secretsScope: props.secretsScope,
        image: props.image(IMAGES.tesseractPosix),
      });
    }
  }
}
