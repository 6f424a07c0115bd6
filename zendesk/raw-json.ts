/**
 * The exact text of each element of a response's top-level arrays, so records are written as Zendesk
 * sent them: `1.0` stays `1.0`, `\/` and `\u00e9` stay escaped, integers past 2^53 keep their digits.
 * For answers the strict reader (strict-json.ts) leaves to JSON.parse, JSON.parse gives the values the
 * export reasons about and this scanner the bytes it writes. It runs on text JSON.parse has already
 * accepted, so it only needs to find boundaries, never to judge syntax. Pure and iterative (deeply
 * nested records cannot overflow the stack).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string that opens at `i`. */
function skipString(text: string, i: number): number {
  for (let j = i + 1; ; ) {
    const end = text.indexOf('"', j);
    if (end < 0) return text.length;
    let slashes = 0;
    for (let k = end - 1; k > i && text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return end + 1;
    j = end + 1;
  }
}

/**
 * The index just past the value that starts at `i`. `spaced.found` is set when whitespace lies between
 * its tokens, so that only such a value is compacted (a second pass over every record costs as much as
 * finding its boundaries).
 */
function skipValue(text: string, i: number, spaced: { found: boolean } = { found: false }): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipString(text, i);
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || isSpace(d)) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
    else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return i + 1;
    } else if (isSpace(d)) spaced.found = true;
    i++;
  }
  return i;
}

/** The text without whitespace outside strings: one line, every token as it was. */
export function compactJson(text: string): string {
  if (!/[\s]/.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (isSpace(c)) {
      out += text.slice(from, i);
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      from = i;
      continue;
    }
    i++;
  }
  return out + text.slice(from);
}

/**
 * For each key of `keys` whose value in the top-level object is an array, the compact text of each
 * element. The last occurrence of a repeated key wins, as with JSON.parse.
 */
export function topLevelArrayTexts(text: string, keys: ReadonlySet<string>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return found;
  i = skipSpace(text, i + 1);
  while (i < text.length && text.charCodeAt(i) !== CLOSE_OBJECT) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // past the colon
    if (keys.has(key) && text.charCodeAt(i) === OPEN_ARRAY) {
      const items: string[] = [];
      const spaced = { found: false };
      i = skipSpace(text, i + 1);
      while (i < text.length && text.charCodeAt(i) !== CLOSE_ARRAY) {
        spaced.found = false;
        const end = skipValue(text, i, spaced);
        const item = text.slice(i, end);
        items.push(spaced.found ? compactJson(item) : item);
        i = skipSpace(text, end);
        if (text.charCodeAt(i) === COMMA) i = skipSpace(text, i + 1);
      }
      found.set(key, items);
      i++;
    } else {
      i = skipValue(text, i);
    }
    i = skipSpace(text, i);
    if (text.charCodeAt(i) === COMMA) i = skipSpace(text, i + 1);
  }
  return found;
}
