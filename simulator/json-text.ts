/**
 * Records written exactly as they are served. Most of a record is plain data that JSON.stringify writes;
 * a few leaves are `RawJson`, text that JSON.stringify could not produce (`1.0`, `"caf\u00e9"`, `"a\/b"`,
 * an integer above 2^53). They are what a client that parses and re-serialises records would change.
 */

/** A JSON value written as the given text. */
export class RawJson {
  constructor(readonly text: string) {}

  /** Stands in for the text while JSON.stringify runs; `jsonText` puts the text back. */
  toJSON(): string {
    pending.push(this.text);
    return `${MARK}${pending.length - 1}${MARK}`;
  }
}

// A private-use character: JSON.stringify leaves it unescaped, and no record contains it.
const MARK = '\uE000';
const PLACEHOLDER = new RegExp(`"${MARK}(\\d+)${MARK}"`, 'g');
let pending: string[] = [];

/** The JSON text of a value that may hold RawJson leaves. */
export function jsonText(value: unknown): string {
  pending = [];
  const text = JSON.stringify(value);
  if (!pending.length) return text;
  const raws = pending;
  pending = [];
  return text.replace(PLACEHOLDER, (_, i: string) => raws[Number(i)]!);
}
