import fc from 'fast-check';
import { dropBoundaryRepeats, EMPTY_BOUNDARY, type Boundary } from '../../zendesk/boundary';
import type { PageRecord } from '../../zendesk/page';

/** A ticket version as a page holds it: its value and its exact text. */
const t = (id: number, ts: number): PageRecord => {
  const value = { id, generated_timestamp: ts, subject: `t${id}` };
  return { value, text: JSON.stringify(value) };
};
const ids = (records: readonly PageRecord[]) => records.map((r) => r.value.id);
const key = (r: PageRecord) => `${String(r.value.id)}@${String(r.value.generated_timestamp)}`;

describe('time-based boundary de-duplication', () => {
  it('drops the versions of the boundary second written by the previous page', () => {
    const first = dropBoundaryRepeats([t(1, 10), t(2, 20), t(3, 20)], 'generated_timestamp', EMPTY_BOUNDARY, 20);
    expect(ids(first.fresh)).toEqual([1, 2, 3]);
    expect(first.boundary).toEqual({ second: 20, keys: ['2@20', '3@20'] });
    const second = dropBoundaryRepeats([t(2, 20), t(3, 20), t(4, 20), t(5, 30)], 'generated_timestamp', first.boundary, 30);
    expect(ids(second.fresh)).toEqual([4, 5]);
    expect(second.repeats).toBe(2);
    expect(second.boundary).toEqual({ second: 30, keys: ['5@30'] });
  });

  it('hands on the records themselves, text included', () => {
    const record = { value: { id: 9, generated_timestamp: 10 }, text: '{"id":9,"generated_timestamp":10,"score":1.0}' };
    expect(dropBoundaryRepeats([record], 'generated_timestamp', EMPTY_BOUNDARY, 11).fresh[0]).toBe(record);
  });

  it('keeps a new version of a record seen at the boundary', () => {
    const { fresh } = dropBoundaryRepeats([t(2, 20), t(2, 25)], 'generated_timestamp', { second: 20, keys: ['2@20'] }, 25);
    expect(fresh).toEqual([t(2, 25)]);
  });

  it('grows the boundary while pages stay on one second', () => {
    const b = dropBoundaryRepeats([t(1, 20), t(2, 20)], 'generated_timestamp', { second: 20, keys: ['1@20'] }, 20).boundary;
    expect(b.keys.sort()).toEqual(['1@20', '2@20']);
  });

  it('forgets the boundary once the next page starts past it with nothing at its second', () => {
    // end_time = last second + 1: nothing of the new start second has been written yet.
    expect(dropBoundaryRepeats([t(1, 20), t(2, 20)], 'generated_timestamp', EMPTY_BOUNDARY, 21).boundary).toEqual(EMPTY_BOUNDARY);
  });

  it('reads ISO version fields (users, organizations)', () => {
    const u = (id: number, at: string): PageRecord => ({ value: { id, updated_at: at }, text: JSON.stringify({ id, updated_at: at }) });
    const r = dropBoundaryRepeats([u(1, '2024-01-01T00:00:10Z'), u(2, '2024-01-01T00:00:10Z')], 'updated_at', { second: 1704067210, keys: ['1@1704067210'] }, 1704067210);
    expect(ids(r.fresh)).toEqual([2]);
  });

  it('writes every version exactly once, whatever the page boundaries (property)', () => {
    // A stream of versions ordered by (second, id); pages cut anywhere, each starting at the
    // previous page's last second (inclusive start_time), as Zendesk's time-based export does.
    const stream = fc
      .array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 8 })), { minLength: 1, maxLength: 60 })
      .map((pairs) => {
        const unique = [...new Map(pairs.map(([id, ts]) => [`${id}@${ts}`, t(id, ts)])).values()];
        const second = (r: PageRecord) => r.value.generated_timestamp as number;
        return unique.sort((a, b) => second(a) - second(b) || (a.value.id as number) - (b.value.id as number));
      });
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 30 }), (records, sizes) => {
        const second = (r: PageRecord) => r.value.generated_timestamp as number;
        const written: string[] = [];
        let boundary: Boundary = EMPTY_BOUNDARY;
        let start = 0;
        for (let i = 0; start <= second(records[records.length - 1]!) && i < 500; i++) {
          const eligible = records.filter((r) => second(r) >= start);
          // At least one record past the start second, so the position advances (a stuck second is paging's concern).
          const atStart = eligible.filter((r) => second(r) === start).length;
          let page = eligible.slice(0, Math.max(sizes[i % sizes.length]!, atStart + 1));
          const last = second(page[page.length - 1]!);
          page = eligible.filter((r) => second(r) <= last); // Pages grow to the end of their last second.
          const out = dropBoundaryRepeats(page, 'generated_timestamp', boundary, last);
          written.push(...out.fresh.map(key));
          boundary = out.boundary;
          if (page.length === eligible.length) break;
          start = last;
        }
        expect(written.sort()).toEqual(records.map(key).sort());
      }),
    );
  });
});
