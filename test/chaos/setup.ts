/** Jest globalSetup of `npm run chaos`: a fresh figures file, shared with the tests through the environment. */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): void {
  const file = path.join(os.tmpdir(), `zendesk-export-chaos-${process.pid}.ndjson`);
  writeFileSync(file, '');
  process.env.CHAOS_FIGURES = file;
  process.env.CHAOS_SEED ??= String(Date.now() % 1_000_000);
}
