import fc from 'fast-check';
import { dropBoundaryRepeats, EMPTY_BOUNDARY, type Boundary } from '../../zendesk/boundary';

const t = (id: number, ts: number) => ({ id, generated_timestamp: ts, subject: `t${id}` });

describe('time-based boundary de-duplication', () => {
  it('drops the versions of the boundary second written by the previous page', () => {
    const first = dropBoundaryRepeats([t(1, 10), t(2, 20), t(3, 20)], 'generated_timestamp', EMPTY_BOUNDARY, 20);
    expect(first.fresh.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(first.boundary).toEqual({ second: 20, keys: ['2@20', '3@20'] });
    const second = dropBoundaryRepeats([t(2, 20), t(3, 20), t(4, 20), t(5, 30)], 'generated_timestamp', first.boundary, 30);
    expect(second.fresh.map((r) => r.id)).toEqual([4, 5]);
    expect(second.repeats).toBe(2);
    expect(second.boundary).toEqual({ second: 30, keys: ['5@30'] });
  });

  it('keeps a new version of a record seen at the boundary', () => {
    const { fresh } = dropBoundaryRepeats([t(2, 20), t(2, 25)], 'generated_timestamp', { second: 20, keys: ['2@20'] }, 25);
    expect(fresh).toEqual([t(2, 25)]);
  });

  it('grows the boundary while pages stay on one second', () => {
    const b = dropBoundaryRepeats([t(1, 20), t(2, 20)], 'generated_timestamp', { second: 20, keys: ['1@20'] }, 20).boundary;
    expect(b.keys.sort()).toEqual(['1@20', '2@20']);
  });

  it('reads ISO version fields (users, organizations)', () => {
    const u = (id: number, at: string) => ({ id, updated_at: at });
    const r = dropBoundaryRepeats([u(1, '2024-01-01T00:00:10Z'), u(2, '2024-01-01T00:00:10Z')], 'updated_at', { second: 1704067210, keys: ['1@1704067210'] }, 1704067210);
    expect(r.fresh.map((x) => x.id)).toEqual([2]);
  });

  it('writes every version exactly once, whatever the page boundaries (property)', () => {
    // A stream of versions ordered by (second, id); pages cut anywhere, each starting at the
    // previous page's last second (inclusive start_time), as Zendesk's time-based export does.
    const stream = fc
      .array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 8 })), { minLength: 1, maxLength: 60 })
      .map((pairs) => {
        const unique = [...new Map(pairs.map(([id, ts]) => [`${id}@${ts}`, t(id, ts)])).values()];
        return unique.sort((a, b) => a.generated_timestamp - b.generated_timestamp || a.id - b.id);
      });
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 30 }), (records, sizes) => {
        const written: string[] = [];
        let boundary: Boundary = EMPTY_BOUNDARY;
        let start = 0;
        for (let i = 0; start <= records[records.length - 1]!.generated_timestamp && i < 500; i++) {
          const eligible = records.filter((r) => r.generated_timestamp >= start);
          // At least one record past the start second, so the position advances (a stuck second is the workflow's concern).
          const atStart = eligible.filter((r) => r.generated_timestamp === start).length;
          let page = eligible.slice(0, Math.max(sizes[i % sizes.length]!, atStart + 1));
          const last = page[page.length - 1]!.generated_timestamp;
          page = eligible.filter((r) => r.generated_timestamp <= last); // Pages grow to the end of their last second.
          const out = dropBoundaryRepeats(page, 'generated_timestamp', boundary, last);
          written.push(...out.fresh.map((r) => `${r.id}@${r.generated_timestamp}`));
          boundary = out.boundary;
          if (page.length === eligible.length) break;
          start = last;
        }
        expect(written.sort()).toEqual(records.map((r) => `${r.id}@${r.generated_timestamp}`).sort());
      }),
    );
  });
});
