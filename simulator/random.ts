/** Seeded randomness: the same seed gives the same records and the same faults, in any order of use. */

/** A small seeded PRNG (mulberry32), for sequences: faults, token strings. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit avalanche mix (murmur3 finaliser). */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A number in [0, 1) fixed by (seed, salt, id): a record comes out the same whoever asks for it first. */
export function unit(seed: number, salt: number, id: number): number {
  return mix(mix(seed ^ Math.imul(salt + 1, 0x9e3779b1)) ^ id) / 2 ** 32;
}
