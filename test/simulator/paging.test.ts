/** Pages as pure functions of the (second, id) order: growing, cutting, end_time, cursors and links. */
import { cursorPage, timePage, type TimeBoundary } from '../../simulator/paging';
import { decodeCursor, encodeCursor, withParam } from '../../simulator/page-request';
import type { Entry } from '../../simulator/versions';

/** Entries at these seconds, ids 1, 2, 3, ... */
const at = (...seconds: number[]): Entry[] => seconds.map((second, i) => ({ second, id: i + 1 }));
const secondsOf = (page: Entry[]) => page.map((e) => e.second);
const grown = (timeBoundary: TimeBoundary) => ({ growPages: true, timeBoundary });
const cut = (timeBoundary: TimeBoundary) => ({ growPages: false, timeBoundary });

describe('time-based pages', () => {
  const entries = at(10, 10, 11, 12, 12, 12, 13);

  test('next-second: a page is grown to hold its whole last second, and end_time is that second + 1', () => {
    expect(timePage(entries, 0, 2, grown('next-second'))).toEqual({ page: at(10, 10), endTime: 11, endOfStream: false });
    expect(timePage(entries, 0, 3, grown('next-second'))).toEqual({ page: at(10, 10, 11), endTime: 12, endOfStream: false });
    const page = timePage(entries, 0, 4, grown('next-second'));
    expect(secondsOf(page.page)).toEqual([10, 10, 11, 12, 12, 12]);
    expect(page).toMatchObject({ endTime: 13, endOfStream: false });
    expect(timePage(entries, 0, 7, grown('next-second'))).toMatchObject({ endTime: 14, endOfStream: true });
  });

  test('same-second: the same pages, with end_time the last second itself', () => {
    expect(timePage(entries, 0, 2, grown('same-second'))).toMatchObject({ endTime: 10, endOfStream: false });
    expect(timePage(entries, 0, 4, grown('same-second'))).toMatchObject({ endTime: 12, endOfStream: false });
    expect(timePage(entries, 0, 7, grown('same-second'))).toMatchObject({ endTime: 13, endOfStream: true });
  });

  test('a grown page of one shared second: next-second moves past it, same-second answers that second', () => {
    const bulk = at(20, 20, 20, 20, 20, 21);
    expect(timePage(bulk, 20, 2, grown('next-second'))).toMatchObject({ endTime: 21, endOfStream: false });
    const same = timePage(bulk, 20, 2, grown('same-second'));
    expect(secondsOf(same.page)).toEqual([20, 20, 20, 20, 20]);
    expect(same).toMatchObject({ endTime: 20, endOfStream: false }); // The next call is this call again.
  });

  test('cut (growPages false): a page cut inside a second answers that second in either mode; cut at a boundary, the mode decides', () => {
    const bulk = at(20, 20, 20, 21);
    for (const mode of ['next-second', 'same-second'] as const) {
      expect(timePage(bulk, 20, 2, cut(mode))).toEqual({ page: at(20, 20), endTime: 20, endOfStream: false });
    }
    expect(timePage(bulk, 20, 3, cut('next-second'))).toMatchObject({ endTime: 21, endOfStream: false });
    expect(timePage(bulk, 20, 3, cut('same-second'))).toMatchObject({ endTime: 20, endOfStream: false });
  });

  test('an empty page keeps its start_time and ends the stream', () => {
    expect(timePage([], 1234, 10, grown('next-second'))).toEqual({ page: [], endTime: 1234, endOfStream: true });
  });

  test('entries are read lazily: a page reads one entry past its end, never the whole stream', () => {
    let read = 0;
    function* endless(): Generator<Entry> {
      for (let id = 1; ; id++) {
        read++;
        yield { second: id, id };
      }
    }
    expect(timePage(endless(), 0, 5, grown('next-second')).page).toHaveLength(5);
    expect(read).toBe(6);
  });
});

test('cursor pages never grow, whatever second the records share', () => {
  const bulk = at(20, 20, 20, 20, 21);
  expect(cursorPage(bulk, 2)).toEqual({ page: at(20, 20), endOfStream: false });
  expect(cursorPage(bulk, 5)).toEqual({ page: bulk, endOfStream: true });
  expect(cursorPage([], 5)).toEqual({ page: [], endOfStream: true });
});

test('cursors are base64 "<second>.0||<id>|", as every public example decodes', () => {
  expect(decodeCursor('MTU3NjYxMzUzOS4wfHw0Njd8')).toEqual({ second: 1576613539, id: 467 });
  expect(decodeCursor('MTY1MDI3NzcyMS4wfHwxNXw=')).toEqual({ second: 1650277721, id: 15 });
  expect(encodeCursor({ second: 1576613539, id: 467 })).toBe('MTU3NjYxMzUzOS4wfHw0Njd8');
  expect(decodeCursor('bm90LWEtY3Vyc29y')).toBeUndefined();
});

test('links: one parameter replaced in place, the others kept as the client wrote them', () => {
  expect(withParam('start_time=0&per_page=3', 'start_time', '99')).toBe('start_time=99&per_page=3');
  expect(withParam('per_page=3&include=users,groups&start_time=0', 'start_time', '99')).toBe('per_page=3&include=users,groups&start_time=99');
  expect(withParam('start_time=5&per_page=3', 'cursor', 'a+b/c=', ['start_time'])).toBe('per_page=3&cursor=a%2Bb%2Fc%3D');
  expect(withParam('cursor=old&per_page=3', 'cursor', 'new')).toBe('cursor=new&per_page=3');
  expect(withParam('', 'start_time', '7')).toBe('start_time=7');
});
