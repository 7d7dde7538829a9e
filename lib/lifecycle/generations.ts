import type { PkiMaterial } from '../pki/state-items';
import { STATE_ITEMS } from '../pki/state-items';
import type { StateSnapshot } from '../state/store';
import type { StateCertificate } from './expiry';

/** Every certificate of the state, with its item and generation, and whether it is in use. */
export function stateCertificates(_snapshot: StateSnapshot, material: PkiMaterial): StateCertificate[] {
  return [
    { item: 'fulcio-root', generation: 1, path: STATE_ITEMS.fulcioRoot.files.certificate, certificate: material.fulcio.root, inUse: true },
    { item: 'fulcio-intermediate', generation: 1, path: STATE_ITEMS.fulcioIntermediate.files.certificate, certificate: material.fulcio.intermediate, inUse: true },
    { item: 'tsa-root', generation: 1, path: STATE_ITEMS.tsaRoot.files.certificate, certificate: material.tsa.root, inUse: true },
    { item: 'tsa-intermediate', generation: 1, path: STATE_ITEMS.tsaIntermediate.files.certificate, certificate: material.tsa.intermediate, inUse: true },
    { item: 'tsa-leaf', generation: 1, path: STATE_ITEMS.tsaLeaf.files.certificate, certificate: material.tsa.leaf, inUse: true },
  ];
}
