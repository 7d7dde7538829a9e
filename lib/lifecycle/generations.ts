import { StateError } from '../errors';
import { STATE_ITEMS } from '../pki/state-items';
import type { PkiMaterial } from '../pki/state-items';
import type { GenerationRecord, RootKeyPin } from '../state/manifest';
import type { StateSnapshot } from '../state/store';
import type { StateCertificate } from './expiry';
import type { RenewableItem } from './rotatable-items';

/** Items with generations in the state (the TUF root's versions are TUF's own). */
export type GenerationalItem = RenewableItem;

/** Generation 1 of each item: what bootstrap minted, under its original state item and paths. */
export function firstGeneration(item: GenerationalItem): { readonly id: string; readonly files: Readonly<Record<string, string>> } {
  // A function, not a constant: lib/pki/state-items.ts imports this module, and STATE_ITEMS is read at call time.
  const items = {
    'fulcio-root': STATE_ITEMS.fulcioRoot,
    'fulcio-intermediate': STATE_ITEMS.fulcioIntermediate,
    'tsa-root': STATE_ITEMS.tsaRoot,
    'tsa-intermediate': STATE_ITEMS.tsaIntermediate,
    'tsa-leaf': STATE_ITEMS.tsaLeaf,
    'ctlog-key': STATE_ITEMS.ctlogKey,
    'rekor-key': STATE_ITEMS.rekorKey,
  } as const;
  return items[item];
}

/** The item that issues each certificate item (roots issue themselves; log keys are not certificates). */
export const ISSUER_OF: Partial<Record<GenerationalItem, GenerationalItem>> = {
  'fulcio-intermediate': 'fulcio-root',
  'tsa-intermediate': 'tsa-root',
  'tsa-leaf': 'tsa-intermediate',
};

/** One generation of an item, as the state records it. */
export interface Generation {
  readonly item: GenerationalItem;
  readonly generation: number;
  /** The state item and its files (generation 1: the original item; N: `<item>-g<N>` under `<dir>/g<N>/`). */
  readonly itemId: string;
  readonly files: Readonly<Record<string, string>>;
  /** When servers switch to it; undefined for generation 1 (active from the start). */
  readonly activeFrom?: Date;
  /** The end of its trusted_root.json `validFor`, set by the next generation (its cut-over plus the overlap). */
  readonly validUntil?: Date;
  /** The generation of the issuing item, for intermediates and the TSA leaf. */
  readonly issuerGeneration?: number;
  /** For a root after generation 1: its pinned signing key (generation 1's is `rootKeys` in the manifest). */
  readonly rootKey?: RootKeyPin;
}

/** The state item and files of generation `generation` of `item`. */
export function generationItem(item: GenerationalItem, generation: number): { id: string; files: Record<string, string> } {
  const first = firstGeneration(item);
  if (generation === 1) return { id: first.id, files: { ...first.files } };
  const files = Object.fromEntries(
    Object.entries(first.files).map(([role, path]) => {
      const slash = path.lastIndexOf('/');
      return [role, `${path.slice(0, slash)}/g${generation}/${path.slice(slash + 1)}`];
    }),
  );
  return { id: `${first.id}-g${generation}`, files };
}

/**
 * Every generation of `item`, ascending: generation 1 (the original item) and one per manifest
 * record. A record whose state item is missing or does not continue the sequence is STATE_CORRUPT.
 */
export function generationsOf(snapshot: StateSnapshot, item: GenerationalItem): Generation[] {
  const records: readonly GenerationRecord[] = snapshot.generationRecords(item);
  const first = firstGeneration(item);
  const issuer = ISSUER_OF[item];
  const generations: Generation[] = [{ item, generation: 1, itemId: first.id, files: first.files, ...(issuer ? { issuerGeneration: 1 } : {}) }];
  records.forEach((record, index) => {
    const expected = generationItem(item, index + 2);
    if (record.generation !== index + 2 || record.itemId !== expected.id || !snapshot.item(record.itemId)) {
      throw new StateError(
        'STATE_CORRUPT',
        `the manifest's generation ${record.generation} of ${item} (${record.itemId}) is not generation ${index + 2} (${expected.id}) of the state; the state was edited or damaged`,
      );
    }
    generations[index] = { ...generations[index], validUntil: new Date(record.previousValidUntil) };
    generations.push({
      item,
      generation: record.generation,
      itemId: record.itemId,
      files: expected.files,
      activeFrom: new Date(record.activeFrom),
      ...(record.issuerGeneration ? { issuerGeneration: record.issuerGeneration } : {}),
      ...(record.rootKey ? { rootKey: record.rootKey } : {}),
    });
  });
  return generations;
}

/** The generation servers use at `at`: the newest whose cut-over is not after `at`. */
export function activeGeneration(generations: readonly Generation[], at: Date): Generation {
  let active = generations[0];
  for (const generation of generations) if (!generation.activeFrom || generation.activeFrom.getTime() <= at.getTime()) active = generation;
  return active;
}

/** The newest generation (which may not be active yet: a rotation is planned ahead). */
export function latestGeneration(snapshot: StateSnapshot, item: GenerationalItem): Generation {
  return generationsOf(snapshot, item).at(-1)!;
}

/** The items that are certificates (log keys have no notAfter), each with its list in `PkiMaterial.history`. */
export const CERTIFICATE_HISTORY = {
  'fulcio-root': 'fulcioRoots',
  'fulcio-intermediate': 'fulcioIntermediates',
  'tsa-root': 'tsaRoots',
  'tsa-intermediate': 'tsaIntermediates',
  'tsa-leaf': 'tsaLeaves',
} as const satisfies Partial<Record<GenerationalItem, keyof PkiMaterial['history']>>;

/** An item whose generations are certificates. */
export type CertificateItem = keyof typeof CERTIFICATE_HISTORY;

/**
 * Every certificate of the state, with its item and generation; in use unless a generation active at
 * `now` superseded it; with the next generation's cut-over while that is still ahead.
 */
export function stateCertificates(snapshot: StateSnapshot, material: PkiMaterial, now: Date = new Date()): StateCertificate[] {
  const certificates: StateCertificate[] = [];
  for (const [item, historyKey] of Object.entries(CERTIFICATE_HISTORY) as [CertificateItem, (typeof CERTIFICATE_HISTORY)[CertificateItem]][]) {
    const history = material.history[historyKey];
    const generations = generationsOf(snapshot, item);
    const active = activeGeneration(generations, now).generation;
    for (const entry of history) {
      // The next generation's cut-over, while it is still ahead (a planned rotation).
      const successorFrom = generations.find((generation) => generation.generation === entry.generation + 1)?.activeFrom;
      certificates.push({
        item,
        generation: entry.generation,
        path: entry.path,
        certificate: entry.certificate,
        inUse: entry.generation >= active,
        ...(successorFrom && successorFrom.getTime() > now.getTime() ? { successorFrom } : {}),
      });
    }
  }
  return certificates;
}
