/**
 * What `sigstore-cdk rotate <item>` renews or rotates, in the order of the yearly runbook. Each item
 * has generations (g1 is what bootstrap minted); a rotation adds the next one and never deletes the
 * old one (lib/lifecycle/generations.ts).
 */
export const ROTATABLE_ITEMS = [
  'tsa-leaf',
  'fulcio-intermediate',
  'tsa-intermediate',
  'fulcio-root',
  'tsa-root',
  'ctlog-key',
  'rekor-key',
  'tuf-root',
] as const;

export type RotatableItem = (typeof ROTATABLE_ITEMS)[number];

/** The default overlap of `rotate`: the old generation's validFor ends this long after the cut-over. */
export const DEFAULT_OVERLAP = '1d';

/** The items whose renewal window `pki.renewBefore` configures (every rotatable item but the TUF root, whose expiry is TUF's own). */
export type RenewableItem = Exclude<RotatableItem, 'tuf-root'>;

/** `pki.renewBefore` field of each renewable item. */
export const RENEW_BEFORE_FIELD = {
  'fulcio-root': 'fulcioRoot',
  'fulcio-intermediate': 'fulcioIntermediate',
  'tsa-root': 'tsaRoot',
  'tsa-intermediate': 'tsaIntermediate',
  'tsa-leaf': 'tsaLeaf',
  'ctlog-key': 'ctlogKey',
  'rekor-key': 'rekorKey',
} as const satisfies Record<RenewableItem, string>;

export function isRotatableItem(value: string): value is RotatableItem {
  return (ROTATABLE_ITEMS as readonly string[]).includes(value);
}
