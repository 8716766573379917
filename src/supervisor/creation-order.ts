/**
 * The jobs in creation order — by (createdAt, id), the order of the store's index — kept sorted
 * as they come, so that a page needs no sort: a binary search to its cursor and a scan from
 * there. A new job usually goes at the end (its clock time is the latest), so keeping the order
 * costs O(log n); removed jobs leave holes, swept out once they are the larger part.
 */
export interface CreationKey {
  readonly createdAt: number;
  readonly id: string;
}

export class CreationOrder {
  #at: number[] = [];
  #ids: string[] = [];
  #gone: boolean[] = [];
  #holes = 0;

  add(key: CreationKey): void {
    const i = this.#indexAfter(key);
    if (i > 0 && this.#ids[i - 1] === key.id && this.#at[i - 1] === key.createdAt) return;
    if (i === this.#ids.length) {
      this.#at.push(key.createdAt);
      this.#ids.push(key.id);
      this.#gone.push(false);
      return;
    }
    this.#at.splice(i, 0, key.createdAt);
    this.#ids.splice(i, 0, key.id);
    this.#gone.splice(i, 0, false);
  }

  remove(key: CreationKey): void {
    const i = this.#indexAfter(key) - 1;
    if (i < 0 || this.#ids[i] !== key.id || this.#gone[i]) return;
    this.#gone[i] = true;
    if (++this.#holes > 1_024 && this.#holes * 2 > this.#ids.length) this.#sweep();
  }

  /** The ids of the jobs created after `cursor` (all of them without one), oldest first. */
  *after(cursor: CreationKey | undefined): IterableIterator<string> {
    for (let i = cursor ? this.#indexAfter(cursor) : 0; i < this.#ids.length; i++) {
      if (!this.#gone[i]) yield this.#ids[i]!;
    }
  }

  /** The index of the first entry that comes after `key`. */
  #indexAfter(key: CreationKey): number {
    let lo = 0;
    let hi = this.#ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.#at[mid]!;
      if (at < key.createdAt || (at === key.createdAt && this.#ids[mid]! <= key.id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #sweep(): void {
    const keep = (_: unknown, i: number) => !this.#gone[i];
    this.#at = this.#at.filter(keep);
    this.#ids = this.#ids.filter(keep);
    this.#gone = this.#ids.map(() => false);
    this.#holes = 0;
  }
}
