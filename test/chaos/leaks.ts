/**
 * The secrets scan of a scenario: every line its workers logged, every file it wrote, every workflow
 * history on its server (payloads decoded) and any CLI output it collected, searched for the API token,
 * its Basic header and the scenario's own secrets. Counted, so the report has the figure; the scenario
 * asserts it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SIM_EMAIL, SIM_TOKEN } from '../helpers/exports';
import type { ChaosStack } from './harness';

export interface LeakScan {
  logLines: number;
  filesScanned: number;
  historiesScanned: number;
  /** Secrets found, counted once per place found. */
  secretsLeaked: number;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(file) : e.isFile() ? [file] : [];
  });
}

async function histories(stack: ChaosStack): Promise<string[]> {
  const client = stack.client.client;
  const out: string[] = [];
  for await (const w of client.workflow.list()) {
    const history = JSON.stringify(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
    out.push(history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8')));
  }
  return out;
}

export async function scanForSecrets(stack: ChaosStack, more: { texts?: string[]; secrets?: string[] } = {}): Promise<LeakScan> {
  const secrets = [SIM_TOKEN, Buffer.from(`${SIM_EMAIL}/token:${SIM_TOKEN}`).toString('base64'), ...(more.secrets ?? [])].filter(Boolean);
  const logs = stack.workerOutput();
  const files = filesUnder(stack.out).map((f) => readFileSync(f, 'utf8'));
  const recorded = await histories(stack);
  const places = [logs, ...files, ...recorded, ...(more.texts ?? [])];
  const secretsLeaked = places.reduce((n, text) => n + secrets.filter((s) => text.includes(s)).length, 0);
  return { logLines: logs.split('\n').filter(Boolean).length, filesScanned: files.length, historiesScanned: recorded.length, secretsLeaked };
}
