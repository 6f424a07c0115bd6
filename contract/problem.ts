/**
 * What a validator answers: the field that is wrong and what is wrong with it, or undefined. The
 * worker says `<field> <problem>`; the client names the flag the user gave instead of the field.
 * Pure.
 */
export interface Problem {
  /** Path of the field in the checked shape, e.g. `options.perPage`; empty when the whole value is wrong. */
  field: string;
  /** What is wrong, to follow the field's name: `1001 is not a page size from 1 to 1000`. */
  problem: string;
}

export const problem = (field: string, what: string): Problem => ({ field, problem: what });

/** The problem as the worker words it: one sentence, without a trailing full stop. */
export function sentence(p: Problem): string {
  return p.field ? `${p.field} ${p.problem}` : p.problem;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
export const isWhole = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
export const isTimes = (v: unknown, max: number): v is number[] => Array.isArray(v) && v.length <= max && v.every((t) => Number.isFinite(t) && t >= 0);

/**
 * A check that cannot throw: a value built to break the checker (cyclic, absurdly deep, a getter that
 * throws) is refused with a sentence, instead of failing a workflow task for ever.
 */
export function readable(check: () => Problem | undefined): Problem | undefined {
  try {
    return check();
  } catch {
    return problem('', 'the input cannot be read (too deep, cyclic, or not data)');
  }
}
