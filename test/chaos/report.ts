/**
 * Jest globalTeardown of `npm run chaos`: prints the figures each scenario recorded, as a Markdown
 * table. A scenario that failed, or never recorded its end, is listed as failed with what it measured.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Figures } from './figures';

/** The last line each scenario wrote: its end, or only its start when it never finished. */
function lastPerScenario(all: readonly Figures[]): Figures[] {
  const last = new Map<string, Figures>();
  for (const f of all) last.set(f.scenario, f);
  return [...last.values()].map((f) => (f.outcome === 'started' ? { ...f, outcome: 'failed', error: f.error ?? 'did not finish' } : f));
}

export default function printReport(): void {
  const file = process.env.CHAOS_FIGURES;
  if (!file || !existsSync(file)) return;
  const all = lastPerScenario(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Figures));
  rmSync(file, { force: true });
  const rows = all.filter((r) => r.badInputs === undefined);
  const failed = all.filter((r) => r.outcome === 'failed');
  const sum = (key: keyof Figures, of: readonly Figures[] = all) => of.reduce((n, r) => n + Number(r[key] ?? 0), 0);
  const result = (r: Figures) => (r.outcome === 'passed' ? 'passed' : `**FAILED**: ${r.error ?? ''}`.replaceAll('|', '\\|'));
  const badInput = all.find((r) => r.badInputs !== undefined);
  const lines = [
    '',
    `Chaos figures (CHAOS_SEED=${process.env.CHAOS_SEED}; replay with that seed)`,
    '',
    '| scenario | result | faults injected | survived | records checked | duplicates | losses | secrets found |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${result(r)} | ${r.faults} | ${r.survived} | ${r.records} | ${r.duplicates} | ${r.losses} | ${r.secretsLeaked ?? '—'} |`),
    `| **total** | **${rows.length - failed.filter((r) => rows.includes(r)).length} of ${rows.length} passed** | **${sum('faults', rows)}** | **${sum('survived', rows)}** | **${sum('records', rows)}** | **${sum('duplicates', rows)}** | **${sum('losses', rows)}** | **${sum('secretsLeaked', rows)}** |`,
    '',
    badInput
      ? `Bad inputs refused with one sentence and exit code 2, nothing started: ${badInput.badInputs}${badInput.outcome === 'passed' ? '' : ` (**FAILED**: ${badInput.error})`}.`
      : 'Bad inputs: the scenario did not run.',
    `Scanned for secrets: ${sum('logLines')} worker log lines, ${sum('filesScanned')} output files, ${sum('historiesScanned')} workflow histories; found: ${sum('secretsLeaked')}.`,
    failed.length ? `FAILED scenarios: ${failed.map((r) => r.scenario).join('; ')}.` : 'Every scenario passed.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
