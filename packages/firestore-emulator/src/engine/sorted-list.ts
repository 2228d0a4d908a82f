/**
 * A sorted list of distinct items with O(log n + chunk) insertion and removal and ordered iteration from any
 * position: items are kept in chunks of bounded size, so inserting into 100k items never moves them all.
 */
const MAX_CHUNK = 1024;

export class SortedList<T, K> {
  private chunks: T[][] = [];
  private count = 0;

  constructor(
    private readonly keyOf: (item: T) => K,
    private readonly compareKeys: (a: K, b: K) => number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Index of the first chunk whose last item is >= key (chunks.length when none). */
  private chunkFor(key: K): number {
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const chunk = this.chunks[middle];
      if (this.compareKeys(this.keyOf(chunk[chunk.length - 1]), key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Position of the first item >= key within a chunk. */
  private offsetIn(chunk: T[], key: K): number {
    let low = 0;
    let high = chunk.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareKeys(this.keyOf(chunk[middle]), key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Inserts `item`; returns false (and changes nothing) when an item with the same key is present. */
  insert(item: T): boolean {
    const key = this.keyOf(item);
    if (this.chunks.length === 0) {
      this.chunks.push([item]);
      this.count = 1;
      return true;
    }
    let chunkIndex = this.chunkFor(key);
    if (chunkIndex === this.chunks.length) chunkIndex--;
    const chunk = this.chunks[chunkIndex];
    const offset = this.offsetIn(chunk, key);
    if (offset < chunk.length && this.compareKeys(this.keyOf(chunk[offset]), key) === 0) return false;
    chunk.splice(offset, 0, item);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(chunkIndex + 1, 0, chunk.splice(MAX_CHUNK >>> 1));
    return true;
  }

  /** Removes the item with this key; returns whether one was there. */
  remove(key: K): boolean {
    const chunkIndex = this.chunkFor(key);
    if (chunkIndex === this.chunks.length) return false;
    const chunk = this.chunks[chunkIndex];
    const offset = this.offsetIn(chunk, key);
    if (offset >= chunk.length || this.compareKeys(this.keyOf(chunk[offset]), key) !== 0) return false;
    chunk.splice(offset, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(chunkIndex, 1);
    return true;
  }

  /**
   * Items in ascending order starting at the first item >= `from` (or the beginning), or in descending order
   * starting at the last item <= `from` (or the end). The list must not change while iterating.
   */
  *iterate(from: K | null, descending = false): Generator<T> {
    if (!descending) {
      let chunkIndex = from === null ? 0 : this.chunkFor(from);
      let offset = from === null || chunkIndex === this.chunks.length ? 0 : this.offsetIn(this.chunks[chunkIndex], from);
      for (; chunkIndex < this.chunks.length; chunkIndex++, offset = 0) {
        const chunk = this.chunks[chunkIndex];
        for (; offset < chunk.length; offset++) yield chunk[offset];
      }
      return;
    }
    let chunkIndex: number;
    let offset: number;
    if (from === null) {
      chunkIndex = this.chunks.length - 1;
      offset = chunkIndex >= 0 ? this.chunks[chunkIndex].length - 1 : -1;
    } else {
      chunkIndex = this.chunkFor(from);
      if (chunkIndex === this.chunks.length) {
        chunkIndex--;
        offset = chunkIndex >= 0 ? this.chunks[chunkIndex].length - 1 : -1;
      } else {
        const chunk = this.chunks[chunkIndex];
        offset = this.offsetIn(chunk, from);
        // offset is the first item >= from; step back unless it equals from.
        if (offset >= chunk.length || this.compareKeys(this.keyOf(chunk[offset]), from) > 0) offset--;
      }
    }
    for (; chunkIndex >= 0; chunkIndex--) {
      const chunk = this.chunks[chunkIndex];
      if (offset === Number.POSITIVE_INFINITY) offset = chunk.length - 1;
      for (; offset >= 0; offset--) yield chunk[offset];
      offset = Number.POSITIVE_INFINITY;
    }
  }
}
