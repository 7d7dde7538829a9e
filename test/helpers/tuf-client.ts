import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';

/**
 * A tuf-js client as sigstore-js sets one up: a metadata directory seeded with a trusted root
 * (`1.root.json`, saved as `root.json`), targets cached in `<cache>/targets`, metadata from the
 * mirror's base URL and targets from `<mirror>/targets`. Each call makes a new Updater over the same
 * cache, as a client process run after run would.
 */
export class TufTestClient {
  readonly metadataDir: string;
  readonly targetDir: string;

  constructor(
    private readonly mirror: string,
    cacheDir: string,
    trustedRoot: string,
  ) {
    this.metadataDir = cacheDir;
    this.targetDir = join(cacheDir, 'targets');
    mkdirSync(this.targetDir, { recursive: true });
    copyFileSync(trustedRoot, join(this.metadataDir, 'root.json'));
  }

  updater(): Updater {
    return new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: this.mirror,
      targetDir: this.targetDir,
      targetBaseUrl: `${this.mirror}/targets`,
      config: { fetchRetry: 0 },
    });
  }

  /**
   * Refreshes the metadata, then returns one target: from the cache when the cached copy matches the
   * signed length and hashes, else downloaded and verified (as sigstore-js's TUFClient does).
   */
  async fetchTarget(name: string): Promise<Buffer> {
    const updater = this.updater();
    await updater.refresh();
    const info = await updater.getTargetInfo(name);
    if (!info) throw new Error(`the repository has no target ${name}`);
    const path = join(this.targetDir, name);
    return readFileSync((await updater.findCachedTarget(info, path)) ?? (await updater.downloadTarget(info, path)));
  }
}
