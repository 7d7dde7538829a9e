import type { SigstoreConfig } from '../config/schema';
import type { StateSnapshot, StateStore } from '../state/store';
import type { TufRootSigners } from '../trust/tuf/root-rotation';
import { CeremonyLogWriter, ceremonyOperator, withCeremonyLog } from './ceremony-log';
import { keyRefSigner, tufRootKeySigner, type RootKeyProvider } from './root-keys';
import type { Signer } from './signer';
import { configuredTufRootKeys } from './tuf-root-keys';

/**
 * The TUF root signers of a rotation, each wrapped in the ceremony log and asked for once: the
 * configured keys (`tuf.root.keys`) and earlier generations' keys by their recorded reference.
 */
export function ceremonyTufRootSigners(options: {
  rootKeys: RootKeyProvider;
  snapshot: StateSnapshot;
  store: StateStore;
  clock: () => Date;
  now: Date;
  config: SigstoreConfig;
  operator?: string;
}): TufRootSigners {
  const { rootKeys, snapshot, store, clock, now, config } = options;
  const log = new CeremonyLogWriter(store);
  const operator = ceremonyOperator(options.operator);
  const wrapped = new Map<string, Signer>();
  const logged = (signer: Signer): Signer => {
    const existing = wrapped.get(signer.keyRef);
    if (existing) return existing;
    const signerWithLog = withCeremonyLog(signer, { env: store.env, operator, clock, log });
    wrapped.set(signer.keyRef, signerWithLog);
    return signerWithLog;
  };
  return {
    configured: async () => {
      const signers: Signer[] = [];
      for (const source of configuredTufRootKeys(config)) signers.push(logged(await tufRootKeySigner(rootKeys, source, snapshot, now)));
      return signers;
    },
    byKeyRef: async (keyRef) => wrapped.get(keyRef) ?? logged(await keyRefSigner(rootKeys, keyRef, snapshot)),
  };
}
