import { storageSize } from './storage-size';
import { kplus } from './kplus';
import type { Construct } from 'constructs';
import { dnsSubdomainProblem, storageQuantityProblem } from '../config/field-rules';
import { requireProp, requireRule } from './prop-validation';

/*
 * What the two tile-based log servers (Rekor v2, TesseraCT) share: the POSIX volume they append to,
 * and their signing key as the one Secret file they read (no password: neither pinned server can take
 * one off its command line, lib/pki/tile-log-keys.ts).
 */

/** The volume a tile-based log writes its tiles, checkpoints and antispam index to. */
export interface TileStorageProps {
  /** PersistentVolumeClaim name. */
  readonly claimName: string;
  /** Size, e.g. `10Gi`. */
  readonly size: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
}

/** A ReadWriteOnce PersistentVolumeClaim and the pod volume that mounts it. */
export function tileStorageVolume(scope: Construct, props: TileStorageProps): { claim: kplus.PersistentVolumeClaim; volume: kplus.Volume } {
  requireRule(scope, 'storage.size', props.size, storageQuantityProblem);
  if (props.storageClassName !== undefined) requireRule(scope, 'storage.storageClassName', props.storageClassName, dnsSubdomainProblem);
  const claim = new kplus.PersistentVolumeClaim(scope, 'Storage', {
    metadata: { name: props.claimName },
    accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
    storage: storageSize(props.size),
    storageClassName: props.storageClassName,
  });
  return { claim, volume: kplus.Volume.fromPersistentVolumeClaim(scope, 'StorageVolume', claim, { name: 'storage' }) };
}


export interface UnencryptedKeySecretProps {
  /** The Secrets chart. */
  readonly secretsScope: Construct;
  /** Construct id of the Secret in `secretsScope`. */
  readonly secretId: string;
  /** Kubernetes name of the Secret. */
  readonly secretName: string;
  /** The key's file name, in the Secret and in the mounted directory. */
  readonly fileName: string;
  /** The prop the key came from, for the error message. */
  readonly prop: string;
  /** The unencrypted private key PEM (secret). */
  readonly pem: string;
}

/**
 * A signing key the server reads unencrypted: one Secret (in the Secrets chart, mode 0600 like every
 * key) and a read-only volume of exactly that file. Refuses anything but a PEM private key.
 */
export function unencryptedKeySecret(scope: Construct, props: UnencryptedKeySecretProps): kplus.Volume {
  requireProp(scope, /^-----BEGIN (EC )?PRIVATE KEY-----\n/.test(props.pem), props.prop, '<secret>', 'an unencrypted PEM private key (PKCS#8 or SEC1)');
  const secret = new kplus.Secret(props.secretsScope, props.secretId, { metadata: { name: props.secretName }, stringData: { [props.fileName]: props.pem } });
  return kplus.Volume.fromSecret(scope, 'SignerVolume', secret, { name: 'signer', items: { [props.fileName]: { path: props.fileName } } });
}
