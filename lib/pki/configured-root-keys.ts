import type { SigstoreConfig } from '../config/schema';
import { connectKms, otcConfigOf, type KmsConnectionOptions } from '../otc/kms-connection';
import { OtcKmsRootKeys, rootKeyPlan } from './otc-kms-root-keys';
import { LocalRootKeys, type RootKeyProvider } from './root-keys';

/**
 * The root key provider the configuration asks for. For `otc-kms` this reads the credentials from the
 * environment and fails (OTC_CREDENTIALS_MISSING) before anything is written when there are none.
 * (Its own module: every command that signs needs it, and lib/synth.ts, which also builds the cluster
 * charts, is loaded only by synth and bootstrap.)
 */
export function rootKeysFor(config: SigstoreConfig, kmsOptions: KmsConnectionOptions = {}): RootKeyProvider {
  switch (config.signer) {
    case 'local':
      return new LocalRootKeys();
    case 'otc-kms': {
      const otc = otcConfigOf(config, 'signer "otc-kms"');
      const localTufRootKeys = (config.tuf.root.keys ?? []).some((key) => key.local !== undefined || key.file !== undefined);
      return new OtcKmsRootKeys({ connection: connectKms(otc, kmsOptions), roots: rootKeyPlan(otc), env: config.env, localTufRootKeys });
    }
  }
}
