/**
 * The strict reader vouches for an answer only when JSON.parse would accept it and give the same
 * values; anything else goes to JSON.parse. Checked against JSON.parse itself, on generated answers and
 * on answers damaged one character at a time.
 */
import fc from 'fast-check';
import { endpointSpec } from '../../zendesk/endpoints';
import { parsePage } from '../../zendesk/http-client';
import { topLevelArrayTexts } from '../../zendesk/raw-json';
import { readAnswer, type ScannedAnswer } from '../../zendesk/strict-json';

const ARRAYS = new Set(['tickets', 'users']);
const FIELDS = ['id', 'generated_timestamp', 'updated_at'];

/** What JSON.parse and the boundary scan make of `text`, in the strict reader's shape. */
function byJsonParse(text: string): ScannedAnswer {
  const body = JSON.parse(text) as Record<string, unknown>;
  const texts = topLevelArrayTexts(text, ARRAYS);
  const answer: ScannedAnswer = { arrays: new Map(), members: new Map() };
  for (const [key, value] of Object.entries(body)) {
    if (ARRAYS.has(key) && Array.isArray(value)) {
      answer.arrays.set(
        key,
        value.map((v: Record<string, unknown>, i) => ({
          value: Object.fromEntries(FIELDS.filter((f) => Object.hasOwn(v, f)).map((f) => [f, v[f]])),
          text: texts.get(key)![i]!,
        })),
      );
    } else answer.members.set(key, value);
  }
  return answer;
}

const record = fc.record(
  { id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()), generated_timestamp: fc.integer({ min: 0 }), updated_at: fc.string(), other: fc.jsonValue() },
  { requiredKeys: [] },
);
const answerValue = fc.record(
  { tickets: fc.array(record, { maxLength: 5 }), users: fc.array(record, { maxLength: 3 }), end_of_stream: fc.boolean(), after_cursor: fc.oneof(fc.string(), fc.constant(null)), extra: fc.jsonValue() },
  { requiredKeys: ['tickets'] },
);

describe('the strict reader', () => {
  it('reads every compact answer as JSON.parse does (property)', () => {
    fc.assert(
      fc.property(answerValue, (value) => {
        const text = JSON.stringify(value);
        expect(readAnswer(text, ARRAYS, FIELDS)).toEqual(byJsonParse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('never vouches for an answer JSON.parse refuses, or reads one differently, when damaged anywhere (property)', () => {
    const damage = fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '-', '.', 'e', '0', '1', ' ', 'u', 'x', 't', '\t', '\u0001', '');
    let vouched = 0;
    fc.assert(
      fc.property(answerValue, fc.nat(), damage, fc.boolean(), (value, at, char, insert) => {
        const text = JSON.stringify(value);
        const i = at % (text.length + 1);
        const damaged = text.slice(0, i) + char + text.slice(insert ? i : i + 1);
        const read = readAnswer(damaged, ARRAYS, FIELDS);
        if (read === undefined) return;
        vouched++;
        expect(() => JSON.parse(damaged)).not.toThrow();
        expect(read).toEqual(byJsonParse(damaged));
      }),
      { numRuns: 5000 },
    );
    expect(vouched).toBeGreaterThan(0);
  });

  it.each([
    ['a raw tab in a string', '{"tickets":[{"id":1,"s":"a\tb"}]}'],
    ['a newline between tokens', '{"tickets":[{"id":1}],\n"end_of_stream":true}'],
    ['an escape JSON does not have', '{"tickets":[{"id":1,"s":"\\x41"}]}'],
    ['a short \\u escape', '{"tickets":[{"id":1,"s":"\\u00e"}]}'],
    ['a leading zero', '{"tickets":[{"id":01}]}'],
    ['a number with no digits after its point', '{"tickets":[{"id":1.}]}'],
    ['a lone minus', '{"tickets":[{"id":-}]}'],
    ['an exponent with no digits', '{"tickets":[{"id":1e+}]}'],
    ['a trailing comma in a record', '{"tickets":[{"id":1,}]}'],
    ['a trailing comma in the array', '{"tickets":[{"id":1},]}'],
    ['a string that never closes', '{"tickets":[{"id":"1}]}'],
    ['a record cut short', '{"tickets":[{"id":1'],
    ['text after the answer', '{"tickets":[]} x'],
    ['a byte order mark', '\ufeff{"tickets":[]}'],
    ['a record that is not an object', '{"tickets":[1]}'],
    ['a bare word', '{"tickets":[{"id":nul}]}'],
    ['single quotes', "{'tickets':[]}"],
  ])('leaves %s to JSON.parse', (_name, text) => {
    expect(readAnswer(text, ARRAYS, FIELDS)).toBeUndefined();
  });

  it('reads record keys written with escapes, and lets the last of a repeated key win', () => {
    const read = readAnswer('{"tickets":[{"i\\u0064":7,"updated_at":"a","updated_at":"b","id":{"x":[1]}}],"end_of_stream":false,"end_of_stream":true}', ARRAYS, FIELDS)!;
    expect(read.arrays.get('tickets')![0]!.value).toEqual({ id: { x: [1] }, updated_at: 'b' });
    expect(read.members.get('end_of_stream')).toBe(true);
  });

  it('parses only top-level fields of a record, never the same names nested in it', () => {
    const read = readAnswer('{"tickets":[{"via":{"id":5,"updated_at":"x"},"id":6}]}', ARRAYS, FIELDS)!;
    expect(read.arrays.get('tickets')![0]!.value).toEqual({ id: 6 });
  });

  it('writes a record spaced between its tokens on one line, spaces inside strings kept', () => {
    const read = readAnswer('{ "tickets" : [ { "id" : 1 , "s" : "a  b" } , {"id":2} ] }', ARRAYS, FIELDS)!;
    expect(read.arrays.get('tickets')!.map((r) => r.text)).toEqual(['{"id":1,"s":"a  b"}', '{"id":2}']);
  });

  it('survives records nested 10,000 deep without using the stack', () => {
    const deep = `{"id":1,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(readAnswer(`{"tickets":[${deep}]}`, ARRAYS, FIELDS)!.arrays.get('tickets')).toEqual([{ value: { id: 1 }, text: deep }]);
    expect(readAnswer(`{"tickets":[{"id":1,"x":${'['.repeat(10_000)}]}]}`, ARRAYS, FIELDS)).toBeUndefined();
  });

  it('gives parsePage the same page as JSON.parse does for the same answer pretty-printed', () => {
    const value = { tickets: [{ id: 1, generated_timestamp: 5, subject: 'a "b"\n' }, { id: 2, generated_timestamp: 6 }], users: [{ id: 3, updated_at: '2026-01-01T00:00:00Z' }], end_time: 6, end_of_stream: true };
    const compact = JSON.stringify(value);
    const pretty = JSON.stringify(value, null, 2);
    expect(readAnswer(pretty, ARRAYS, FIELDS)).toBeUndefined(); // its newlines send it to JSON.parse
    const endpoint = endpointSpec('tickets_time');
    expect(parsePage(endpoint, 'tickets', ['users'], compact, {})).toEqual(parsePage(endpoint, 'tickets', ['users'], pretty, {}));
  });
});
