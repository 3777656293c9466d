/**
 * Random picking and selections over the address book's content (CometBFT `PickAddress`,
 * `GetSelection`, `GetSelectionWithBias`; spec §8.3, §9.4): pure functions of the bucket and list
 * views the book hands in and an injected uniform [0,1) source, so the book keeps the state and
 * this module keeps the sampling rules. The order of `random()` calls is part of the behaviour
 * (tests replay seeded sources), so each function documents what it draws.
 * @module
 */

import type { NetAddress } from "../netaddress.ts";
import type { KnownAddress } from "./known_address.ts";

/** Percentage of the book returned by a selection (`getSelectionPercent`). */
export const GET_SELECTION_PERCENT = 23;
/** Minimum selection size (`minGetSelection`), bounded by the book size. */
export const MIN_GET_SELECTION = 32;
/** Maximum selection size (`maxGetSelection`), what fits a PexAddrs message. */
export const MAX_GET_SELECTION = 250;

/** Selection size for a book of `size` entries (spec §8.3). */
export function selectionSize(size: number): number {
  if (size <= 0) return 0;
  const n = Math.max(
    Math.min(MIN_GET_SELECTION, size),
    Math.floor(size * GET_SELECTION_PERCENT / 100),
  );
  return Math.min(MAX_GET_SELECTION, n);
}

/** A bias towards new addresses, clamped to a percentage in [0, 100]. */
export function clampBias(biasTowardsNewAddrs: number): number {
  return Math.min(100, Math.max(0, biasTowardsNewAddrs));
}

/**
 * The indices of [0, n) in uniform random order, drawn lazily (partial Fisher–Yates over a sparse
 * swap map): one `random()` call per index taken, so a caller that stops early draws no more.
 */
export function* shuffledIndices(n: number, random: () => number): Generator<number> {
  const swaps = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (n - i));
    const vj = swaps.get(j) ?? j;
    swaps.set(j, swaps.get(i) ?? i);
    yield vj;
  }
}

/** `k` distinct uniform indices of [0, n) (the first `k` of {@link shuffledIndices}). */
export function sampleIndices(n: number, k: number, random: () => number): number[] {
  k = Math.min(k, n);
  const out: number[] = [];
  if (k <= 0) return out;
  for (const i of shuffledIndices(n, random)) {
    out.push(i);
    if (out.length === k) break;
  }
  return out;
}

/**
 * The book's in-bucket entries as two flat lists (new, old) beside the buckets, so selections can
 * sample uniformly by index: O(1) add, and O(1) remove by swapping with the last entry through
 * `KnownAddress.listIndex`.
 */
export class SelectionLists {
  #new: KnownAddress[] = [];
  #old: KnownAddress[] = [];

  /** Entries in new buckets. */
  get newList(): readonly KnownAddress[] {
    return this.#new;
  }

  /** Entries in old buckets. */
  get oldList(): readonly KnownAddress[] {
    return this.#old;
  }

  /** Empties both lists. */
  clear(): void {
    this.#new = [];
    this.#old = [];
  }

  /** Appends `ka` to the list of its current class. */
  add(ka: KnownAddress): void {
    const list = ka.isOld() ? this.#old : this.#new;
    ka.listIndex = list.length;
    list.push(ka);
  }

  /** Takes `ka` out of whichever list holds it (no-op when in none). */
  remove(ka: KnownAddress): void {
    const i = ka.listIndex;
    if (i < 0) return;
    for (const list of [this.#new, this.#old]) {
      if (list[i] !== ka) continue;
      const last = list.pop()!;
      if (last !== ka) {
        list[i] = last;
        last.listIndex = i;
      }
      break;
    }
    ka.listIndex = -1;
  }
}

/** What the picking functions read of the book: buckets and flat lists of each class. */
export interface AddrBookView {
  readonly bucketsNew: readonly ReadonlyMap<string, KnownAddress>[];
  readonly bucketsOld: readonly ReadonlyMap<string, KnownAddress>[];
  readonly newList: readonly KnownAddress[];
  readonly oldList: readonly KnownAddress[];
}

/**
 * A random address to dial: old vs new weighted by sqrt(count) × bias (spec §9.4), then a random
 * non-empty bucket and a random entry in it. `undefined` when the chosen class is empty.
 */
export function pickAddress(
  view: AddrBookView,
  biasTowardsNewAddrs: number,
  random: () => number,
): NetAddress | undefined {
  const nNew = view.newList.length, nOld = view.oldList.length;
  if (nNew + nOld === 0) return undefined;
  const bias = clampBias(biasTowardsNewAddrs);
  const oldWeight = Math.sqrt(nOld) * (100 - bias);
  const newWeight = Math.sqrt(nNew) * bias;
  const pickOld = (oldWeight + newWeight) * random() < oldWeight;
  if ((pickOld && nOld === 0) || (!pickOld && nNew === 0)) return undefined;
  const buckets = pickOld ? view.bucketsOld : view.bucketsNew;
  let bucket = buckets[Math.floor(random() * buckets.length)];
  while (bucket.size === 0) bucket = buckets[Math.floor(random() * buckets.length)];
  let i = Math.floor(random() * bucket.size);
  for (const ka of bucket.values()) if (i-- === 0) return ka.addr;
  return undefined;
}

/** Uniform random selection of {@link selectionSize} addresses (PexAddrs answer). */
export function getSelection(view: AddrBookView, random: () => number): NetAddress[] {
  const nNew = view.newList.length;
  const size = nNew + view.oldList.length;
  const idx = sampleIndices(size, selectionSize(size), random);
  return idx.map((i) => (i < nNew ? view.newList[i] : view.oldList[i - nNew]).addr);
}

/**
 * Selection with `bias`% new addresses first (at least enough to fill when old ones run short),
 * then old ones (seed mode uses 30).
 */
export function getSelectionWithBias(
  view: AddrBookView,
  biasTowardsNewAddrs: number,
  random: () => number,
): NetAddress[] {
  const n = selectionSize(view.newList.length + view.oldList.length);
  if (n === 0) return [];
  const bias = clampBias(biasTowardsNewAddrs);
  const wantNew = Math.max(Math.round(bias / 100 * n), n - view.oldList.length);
  const out = sampleIndices(view.newList.length, Math.min(wantNew, n), random)
    .map((i) => view.newList[i].addr);
  for (const i of sampleIndices(view.oldList.length, n - out.length, random)) {
    out.push(view.oldList[i].addr);
  }
  return out;
}
