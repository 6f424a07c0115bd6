/**
 * A scenario's figures, measured and recorded before anything is asserted: a scenario that fails an
 * assertion, throws or never finishes still has its line in the report, marked failed, with what was
 * measured up to then.
 */
import { appendFileSync } from 'node:fs';

export interface Figures {
  scenario: string;
  /** 'started' is written first: a scenario whose final line never comes (killed by a timeout) shows as failed. */
  outcome: 'started' | 'passed' | 'failed';
  /** The first line of what went wrong, for a failed scenario. */
  error?: string;
  faults: number;
  /** Faults after which the export was seen going on, when its output then matched the simulator's data exactly. */
  survived: number;
  records: number;
  duplicates: number;
  losses: number;
  /** Worker log lines, output files and workflow histories searched for secrets, and the secrets found in them. */
  logLines?: number;
  filesScanned?: number;
  historiesScanned?: number;
  secretsLeaked?: number;
  badInputs?: number;
}

/** Appends a line for the report printed at the end of `npm run chaos`. */
export function report(figures: Figures): void {
  const file = process.env.CHAOS_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}

/**
 * Runs a scenario: `body` measures into its figures, then asserts. The figures are reported whatever
 * happens, passed only when the body completed.
 */
export async function scenario(name: string, body: (figures: Figures) => Promise<void>): Promise<void> {
  const figures: Figures = { scenario: name, outcome: 'started', faults: 0, survived: 0, records: 0, duplicates: 0, losses: 0 };
  report(figures);
  try {
    await body(figures);
    figures.outcome = 'passed';
  } catch (err) {
    figures.outcome = 'failed';
    figures.error = String((err as Error)?.message ?? err).split('\n').find((line) => line.trim()) ?? 'failed';
    throw err;
  } finally {
    report(figures);
  }
}
