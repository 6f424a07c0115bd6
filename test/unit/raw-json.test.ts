/** Records are written with the exact text Zendesk sent: what a parse and re-serialise would change stays. */
import fc from 'fast-check';
import { compactJson, topLevelArrayTexts } from '../../zendesk/raw-json';

const texts = (body: string, key = 'tickets') => topLevelArrayTexts(body, new Set([key])).get(key);

describe('exact record texts', () => {
  it.each([
    ['a decimal written 1.0', '{"id":1,"score":1.0}'],
    ['an integer above 2^53', '{"id":12345678901234567890}'],
    ['a \\u00e9 escape', '{"id":1,"name":"caf\\u00e9"}'],
    ['a \\/ escape', '{"id":1,"url":"https:\\/\\/acme.zendesk.com\\/x"}'],
    ['an exponent and a negative zero', '{"id":1,"a":1E+2,"b":-0.0}'],
    ['nested objects and arrays', '{"id":1,"via":{"source":{"from":{},"to":[[],[{"x":[1,2,{"y":null}]}]]}},"tags":["a","b"]}'],
    ['strings holding JSON punctuation', '{"id":1,"s":"] } , [ { \\" \\\\","t":"\\\\"}'],
  ])('keeps %s byte for byte', (_name, record) => {
    const body = `{"count":2,"tickets":[${record},${record}],"end_of_stream":true}`;
    expect(texts(body)).toEqual([record, record]);
  });

  it('writes pretty-printed records on one line, whitespace inside strings kept', () => {
    const body = '{\n  "tickets": [\n    {\n      "id": 1,\n      "subject": "two  spaces\\tand a tab",\n      "score": 1.0\n    } ,\n\t{ "id" : 2 }\n  ]\n}';
    expect(texts(body)).toEqual(['{"id":1,"subject":"two  spaces\\tand a tab","score":1.0}', '{"id":2}']);
  });

  it('compacts each record on its own: a spaced one between compact ones, and whitespace only inside strings left alone', () => {
    const body = '{"tickets":[{"id":1,"s":"a b"},{ "id": 2 },{"id":3,"t":"\\n "},\n{"id":4}]}';
    expect(texts(body)).toEqual(['{"id":1,"s":"a b"}', '{"id":2}', '{"id":3,"t":"\\n "}', '{"id":4}']);
  });

  it('finds only the arrays asked for, and sideloads by their own names', () => {
    const body = '{"users":[{"id":7}],"tickets":[{"id":1}],"groups":"not an array","next_page":"https://x/?a=[1]"}';
    const found = topLevelArrayTexts(body, new Set(['tickets', 'users', 'groups', 'organizations']));
    expect([...found.entries()]).toEqual([
      ['users', ['{"id":7}']],
      ['tickets', ['{"id":1}']],
    ]);
  });

  it('reads escaped key names as JSON.parse does, and lets the last of a repeated key win', () => {
    expect(texts('{"tick\\u0065ts":[{"id":1}]}')).toEqual(['{"id":1}']);
    expect(texts('{"tickets":[{"id":1}],"tickets":[{"id":2},{"id":3}]}')).toEqual(['{"id":2}', '{"id":3}']);
  });

  it('finds nothing in a body that is not an object', () => {
    expect(topLevelArrayTexts('[{"id":1}]', new Set(['tickets'])).size).toBe(0);
    expect(texts('{"tickets":[]}')).toEqual([]);
  });

  it('survives records nested 10,000 deep without using the stack', () => {
    const deep = `{"id":1,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(() => texts(`{"tickets":[${deep}]}`)).not.toThrow();
    expect(texts(`{"tickets":[${deep}]}`)).toEqual([deep]);
    const spaced = `{"tickets":[ {"id":1, "x": ${'[ '.repeat(10_000)}${'] '.repeat(10_000)}} ]}`;
    expect(texts(spaced)).toEqual([deep]);
  });

  it('compacts exactly what JSON.stringify would have written without indentation (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), (values) => {
        const body = JSON.stringify({ count: values.length, tickets: values }, null, 2);
        expect(texts(body)).toEqual(values.map((v) => JSON.stringify(v)));
        expect(compactJson(JSON.stringify(values, null, '\t'))).toBe(JSON.stringify(values));
      }),
    );
  });

  it('returns text without whitespace as it is', () => {
    const text = '{"a":"b"}';
    expect(compactJson(text)).toBe(text);
    expect(compactJson(' {"a" : "b c"}\r\n')).toBe('{"a":"b c"}');
  });
});
