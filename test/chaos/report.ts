/** Jest globalTeardown of `npm run chaos`: prints the figures each scenario reported, as a Markdown table. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Figures } from './harness';

export default function printReport(): void {
  const file = process.env.CHAOS_FIGURES;
  if (!file || !existsSync(file)) return;
  const all = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Figures);
  const rows = all.filter((r) => !r.badInputs);
  rmSync(file, { force: true });
  const sum = (key: keyof Figures) => all.reduce((n, r) => n + Number(r[key] ?? 0), 0);
  const lines = [
    '',
    `Chaos figures (CHAOS_SEED=${process.env.CHAOS_SEED}; replay with that seed)`,
    '',
    '| scenario | faults injected | survived | records checked | duplicates | losses |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.faults} | ${r.survived} | ${r.records} | ${r.duplicates} | ${r.losses} |`),
    `| **total** | **${sum('faults')}** | **${sum('survived')}** | **${sum('records')}** | **${sum('duplicates')}** | **${sum('losses')}** |`,
    '',
    `Bad inputs tried: ${sum('badInputs')}, each refused with one sentence and exit code 2, nothing started.`,
    `Worker log lines scanned for the API token: ${sum('logLines')}; found: ${sum('secretsLeaked')}.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
