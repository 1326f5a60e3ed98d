import { KEY_WORDS } from "./flow-key.ts";

/**
 * Bidirectional flow table: open addressing with linear probing over an Int32Array of flow ids,
 * keys kept in one Uint32Array (KEY_WORDS per id), backward-shift deletion (no tombstones), so
 * lookups stay short however many flows come and go. Memory grows with the number of live flows
 * only: ids are recycled after `remove`.
 */
export class FlowTable {
  private slots: Int32Array;
  private mask: number;
  /** Keys by flow id, side A first (side A = the sender of the packet that created the flow). */
  keys: Uint32Array;
  private hashes: Int32Array;
  private freeIds: Int32Array;
  private freeCount = 0;
  private nextId = 0;
  /** Live flows. */
  size = 0;
  /** After `lookup`: 0 when the packet's sender is side A of the found flow, 1 when side B. */
  lastSide = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    const ids = capacity >> 1;
    this.keys = new Uint32Array(ids * KEY_WORDS);
    this.hashes = new Int32Array(ids);
    this.freeIds = new Int32Array(ids);
  }

  /** Flow id of `key` (either orientation) or -1; sets `lastSide`. */
  lookup(key: Uint32Array, hash: number): number {
    hash |= 0; // stored as int32
    const slots = this.slots;
    const mask = this.mask;
    const keys = this.keys;
    let i = hash & mask;
    for (;;) {
      const id = slots[i]!;
      if (id < 0) return -1;
      if (this.hashes[id] === hash) {
        const b = id * KEY_WORDS;
        if (keys[b] === key[0] && keys[b + 1] === key[1]) {
          // Same sender, then the other side's sender (ports and addresses swapped). Written out:
          // an endpoint helper or a word-order table measured slower on this per-packet path.
          if (
            keys[b + 2] === key[2] &&
            keys[b + 3] === key[3] &&
            keys[b + 4] === key[4] &&
            keys[b + 5] === key[5] &&
            keys[b + 6] === key[6] &&
            keys[b + 7] === key[7] &&
            keys[b + 8] === key[8] &&
            keys[b + 9] === key[9] &&
            keys[b + 10] === key[10] &&
            keys[b + 11] === key[11]
          ) {
            this.lastSide = 0;
            return id;
          }
          if (
            keys[b + 2] === key[3] &&
            keys[b + 3] === key[2] &&
            keys[b + 4] === key[8] &&
            keys[b + 5] === key[9] &&
            keys[b + 6] === key[10] &&
            keys[b + 7] === key[11] &&
            keys[b + 8] === key[4] &&
            keys[b + 9] === key[5] &&
            keys[b + 10] === key[6] &&
            keys[b + 11] === key[7]
          ) {
            this.lastSide = 1;
            return id;
          }
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Inserts `key` (not present) with the packet's sender as side A; returns the new id. */
  insert(key: Uint32Array, hash: number): number {
    hash |= 0;
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const id = this.freeCount > 0 ? this.freeIds[--this.freeCount]! : this.nextId++;
    this.keys.set(key.subarray(0, KEY_WORDS), id * KEY_WORDS);
    this.hashes[id] = hash;
    let i = hash & this.mask;
    while (this.slots[i]! >= 0) i = (i + 1) & this.mask;
    this.slots[i] = id;
    this.size++;
    this.lastSide = 0;
    return id;
  }

  /** Removes flow `id`; its id may be handed out again by `insert`. */
  remove(id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hashes[id]! & mask;
    while (slots[i] !== id) {
      if (slots[i]! < 0) return;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const other = slots[j]!;
      if (other < 0) break;
      const home = this.hashes[other]! & mask;
      const distanceToJ = (j - home) & mask;
      const distanceToHole = (hole - home) & mask;
      if (distanceToHole <= distanceToJ) {
        slots[hole] = other;
        hole = j;
      }
    }
    slots[hole] = -1;
    this.freeIds[this.freeCount++] = id;
    this.size--;
  }

  private grow(): void {
    const oldSlots = this.slots;
    const capacity = oldSlots.length * 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let s = 0; s < oldSlots.length; s++) {
      const id = oldSlots[s]!;
      if (id < 0) continue;
      let i = this.hashes[id]! & this.mask;
      while (this.slots[i]! >= 0) i = (i + 1) & this.mask;
      this.slots[i] = id;
    }
    const ids = capacity >> 1;
    const keys = new Uint32Array(ids * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    const hashes = new Int32Array(ids);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const free = new Int32Array(ids);
    free.set(this.freeIds.subarray(0, this.freeCount));
    this.freeIds = free;
  }
}
