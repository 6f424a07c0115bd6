/**
 * The demo's simulated account, the same on every start: its data follow from a seed, sizes and an end
 * time, and the end time would otherwise be "now", shifting every version by the time between two
 * starts (a resumed export would then find records again under new versions). So the first start
 * saves them in `.temporal/demo-simulator.json`, beside the Temporal state they belong to, and later
 * starts read them back; `npm start -- --fresh` removes the file with that state.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_RECENT_WINDOW_SECONDS } from '../simulator/options';
import type { SimulatorOptions } from '../simulator';
import { RESOURCES, type RateBudget, type Resource } from '../zendesk/endpoints';

/** The simulator's limit, and the budget the demo's exports pace to: visible pacing, a short run. */
export const DEMO_BUDGET: RateBudget = { requests: 60, seconds: 10 };
/** Small pages, so the pacing shows. */
export const DEMO_PAGE_SIZE = 100;

/** What decides every record the demo account serves. */
export interface DemoData {
  seed: number;
  /** Epoch seconds of the newest generated version. */
  endTime: number;
  sizes: Record<Resource, number>;
}

const FILE = 'demo-simulator.json';
const FRESH: Omit<DemoData, 'endTime'> = { seed: 42, sizes: { tickets: 3000, users: 1500, organizations: 300, ticket_events: 5000 } };

function isDemoData(value: unknown): value is DemoData {
  const v = value as Partial<DemoData> | null;
  return (
    !!v &&
    Number.isSafeInteger(v.seed) &&
    Number.isSafeInteger(v.endTime) &&
    !!v.sizes &&
    RESOURCES.every((r) => Number.isSafeInteger(v.sizes![r]) && v.sizes![r] >= 0)
  );
}

/** The saved data of this demo folder, or undefined when there are none (or they are unreadable). */
export function readDemoData(temporalDir: string): DemoData | undefined {
  const file = path.join(temporalDir, FILE);
  if (!existsSync(file)) return undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isDemoData(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The saved data, or new ones ending now (saved for the next start). */
export function demoData(temporalDir: string, nowMs = Date.now()): DemoData {
  const saved = readDemoData(temporalDir);
  if (saved) return saved;
  // As the simulator's own default: the newest version just outside the one-minute window.
  const data: DemoData = { ...FRESH, endTime: Math.floor(nowMs / 1000) - DEFAULT_RECENT_WINDOW_SECONDS - 1 };
  mkdirSync(temporalDir, { recursive: true });
  writeFileSync(path.join(temporalDir, FILE), `${JSON.stringify(data)}\n`);
  return data;
}

export function forgetDemoData(temporalDir: string): void {
  rmSync(path.join(temporalDir, FILE), { force: true });
}

/** The simulator options that serve exactly these data, with the demo's rate limits. */
export function demoSimulatorOptions(data: DemoData): SimulatorOptions {
  return {
    seed: data.seed,
    endTime: data.endTime,
    sizes: data.sizes,
    recentWindowSeconds: DEFAULT_RECENT_WINDOW_SECONDS, // As Zendesk: the last minute's changes come later.
    rateLimits: { 'incremental-exports': DEMO_BUDGET, 'incremental-exports-cursor': DEMO_BUDGET },
  };
}
