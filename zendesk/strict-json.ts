/**
 * One strict pass over an answer that both judges it as JSON and finds its records' exact texts, so a
 * page's records need not all be built as values (JSON.parse of a 1000-record page costs more than the
 * rest of reading it). Only the top-level members and each record's few fields the export reasons
 * about are parsed, each on its own small slice.
 *
 * It is sound, not complete: when it answers, JSON.parse would have accepted the text and given the
 * same values; when it cannot vouch for an answer (a control character, tab or newline anywhere, a
 * record that is not an object, anything malformed) it returns undefined and the caller reads the
 * answer with JSON.parse, which also names what is wrong.
 * Iterative: deeply nested records cannot overflow the stack.
 */
import { compactJson } from './raw-json';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** One element of an array asked for: the fields asked for, parsed, and its compact text. */
export interface ScannedRecord {
  value: Record<string, unknown>;
  text: string;
}

export interface ScannedAnswer {
  /** Each top-level array asked for whose value is an array of objects, element by element. */
  arrays: Map<string, ScannedRecord[]>;
  /** Every other top-level member, parsed (the last of a repeated key wins, as with JSON.parse). */
  members: Map<string, unknown>;
}

/**
 * Below 0x20 JSON allows only whitespace, and only between tokens. An answer holding none of these
 * code units (Zendesk's compact answers hold none) can have no raw control character in a string,
 * so strings need no scan of their own. (Matching the whole text is quicker than searching it.)
 */
// eslint-disable-next-line no-control-regex -- control characters are what it rules out
const NO_CONTROL_CHARACTER = /^[^\u0000-\u001f]*$/;
const ESCAPED = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't'].map((c) => c.charCodeAt(0)));
const HEX = /^[0-9a-fA-F]{4}$/;

/** Every backslash, taken left to right as JSON's escapes are, begins a valid escape. */
function escapesValid(text: string): boolean {
  for (let i = text.indexOf('\\'); i >= 0; i = text.indexOf('\\', i)) {
    const next = text.charCodeAt(i + 1);
    if (ESCAPED.has(next)) i += 2;
    else if (next === 0x75 && HEX.test(text.slice(i + 2, i + 6))) i += 6;
    else return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** The index past the digits from `i`, or -1 when there is none. */
function digits(text: string, i: number): number {
  if (!isDigit(text.charCodeAt(i))) return -1;
  do i++;
  while (isDigit(text.charCodeAt(i)));
  return i;
}

/** The index past JSON's number grammar from `i`, or -1. */
function numberEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  if (text.charCodeAt(i) === ZERO) i++;
  else if ((i = digits(text, i)) < 0) return -1;
  if (text.charCodeAt(i) === DOT && (i = digits(text, i + 1)) < 0) return -1;
  const c = text.charCodeAt(i);
  if (c === 0x65 || c === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    return digits(text, i);
  }
  return i;
}

/** The index past the string opening at `i` (escapes already judged), or -1 when it never closes. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; ; ) {
    const end = text.indexOf('"', j);
    if (end < 0) return -1;
    let slashes = 0;
    for (let k = end - 1; k > i && text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return end + 1;
    j = end + 1;
  }
}

function skipSpaces(text: string, i: number): number {
  while (text.charCodeAt(i) === SPACE) i++;
  return i;
}

/** What reading values notes beside their ends. */
interface ReadState {
  /** Whether the last value read had spaces between its tokens. */
  spaced: boolean;
  /** The first backslash at or after the last key compared, -2 when none is left. */
  nextBackslash: number;
  /** The closing characters of the containers open, reused from value to value (grown as needed). */
  open: Uint8Array;
}

/** Past the spaces at `i`, noting in `state` that a value had some. */
function spacesIn(text: string, i: number, state: ReadState): number {
  if (text.charCodeAt(i) !== SPACE) return i;
  state.spaced = true;
  return skipSpaces(text, i);
}

/** Which of `fields` the key text[start, end) names; a key holding an escape is decoded to compare. */
function named(text: string, start: number, end: number, fields: readonly string[], state: ReadState): string | undefined {
  if (state.nextBackslash < start && state.nextBackslash !== -2) {
    const at = text.indexOf('\\', start);
    state.nextBackslash = at < 0 ? -2 : at;
  }
  if (state.nextBackslash >= 0 && state.nextBackslash < end) {
    const name = JSON.parse(text.slice(start, end)) as string;
    return fields.find((f) => f === name);
  }
  const length = end - start - 2;
  for (const f of fields) if (f.length === length && text.startsWith(f, start + 1)) return f;
  return undefined;
}

/**
 * Reads the value starting at `i` and returns the index past it, or -1 when the text is not valid JSON
 * there. With `fields`, the value must be an object, and each of its own members named in `fields` is
 * parsed into `found`.
 */
function readValue(text: string, i: number, state: ReadState, fields?: readonly string[], found?: Record<string, unknown>): number {
  if (fields !== undefined && text.charCodeAt(i) !== OPEN_OBJECT) return -1;
  let open = state.open;
  let depth = 0;
  state.spaced = false;
  let wanted: string | undefined;
  let valueStart = 0;
  let keyFirst = false;
  for (;;) {
    if (keyFirst) {
      // A member's key and colon, then its value.
      keyFirst = false;
      if (text.charCodeAt(i) !== QUOTE) return -1;
      const keyEnd = stringEnd(text, i);
      if (keyEnd < 0) return -1;
      if (depth === 1 && fields !== undefined) wanted = named(text, i, keyEnd, fields, state);
      i = spacesIn(text, keyEnd, state);
      if (text.charCodeAt(i) !== COLON) return -1;
      i = spacesIn(text, i + 1, state);
      if (depth === 1) valueStart = i;
    }
    // A value is expected at i.
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      if ((i = stringEnd(text, i)) < 0) return -1;
    } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
      if ((i = numberEnd(text, i)) < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i = spacesIn(text, i + 1, state);
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      if (text.charCodeAt(i) === close) i++;
      else {
        if (depth === open.length) {
          const deeper = new Uint8Array(2 * depth);
          deeper.set(open);
          state.open = open = deeper;
        }
        open[depth++] = close;
        keyFirst = close === CLOSE_OBJECT;
        continue;
      }
    } else if (c === 0x74 && text.startsWith('true', i)) i += 4;
    else if (c === 0x66 && text.startsWith('false', i)) i += 5;
    else if (c === 0x6e && text.startsWith('null', i)) i += 4;
    else return -1;
    // After a value: the close of what holds it, or a comma and the next member or element.
    for (;;) {
      if (depth === 0) return i;
      if (depth === 1 && wanted !== undefined) {
        found![wanted] = JSON.parse(text.slice(valueStart, i)) as unknown;
        wanted = undefined;
      }
      i = spacesIn(text, i, state);
      const d = text.charCodeAt(i);
      const close = open[depth - 1];
      if (d !== COMMA) {
        if (d !== close) return -1;
        depth--;
        i++;
        continue;
      }
      i = spacesIn(text, i + 1, state);
      keyFirst = close === CLOSE_OBJECT;
      break;
    }
  }
}

/**
 * The answer read strictly: the top-level object's members, and for each key of `arrays` holding an
 * array of objects, every element's compact text with its members named in `fields`. Undefined when
 * the text is not such an object or cannot be vouched for (see above).
 */
export function readAnswer(text: string, arrays: ReadonlySet<string>, fields: readonly string[]): ScannedAnswer | undefined {
  if (!NO_CONTROL_CHARACTER.test(text) || !escapesValid(text)) return undefined;
  const state: ReadState = { spaced: false, nextBackslash: -1, open: new Uint8Array(64) };
  const answer: ScannedAnswer = { arrays: new Map(), members: new Map() };
  let i = skipSpaces(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipSpaces(text, i + 1);
  let first = true;
  while (text.charCodeAt(i) !== CLOSE_OBJECT) {
    if (!first) {
      if (text.charCodeAt(i) !== COMMA) return undefined;
      i = skipSpaces(text, i + 1);
    }
    first = false;
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpaces(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    i = skipSpaces(text, i + 1);
    answer.arrays.delete(key);
    answer.members.delete(key);
    if (arrays.has(key) && text.charCodeAt(i) === OPEN_ARRAY) {
      const records: ScannedRecord[] = [];
      i = skipSpaces(text, i + 1);
      let firstElement = true;
      while (text.charCodeAt(i) !== CLOSE_ARRAY) {
        if (!firstElement) {
          if (text.charCodeAt(i) !== COMMA) return undefined;
          i = skipSpaces(text, i + 1);
        }
        firstElement = false;
        const found: Record<string, unknown> = {};
        const end = readValue(text, i, state, fields, found);
        if (end < 0) return undefined;
        const raw = text.slice(i, end);
        records.push({ value: found, text: state.spaced ? compactJson(raw) : raw });
        i = skipSpaces(text, end);
      }
      answer.arrays.set(key, records);
      i++;
    } else {
      const end = readValue(text, i, state);
      if (end < 0) return undefined;
      answer.members.set(key, JSON.parse(text.slice(i, end)) as unknown);
      i = end;
    }
    i = skipSpaces(text, i);
  }
  return skipSpaces(text, i + 1) === text.length ? answer : undefined;
}
