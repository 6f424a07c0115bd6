/**
 * Imports run downwards only (scripts/layering.ts): the project as it is, and the checker itself on
 * made-up files, so that an upward import is known to fail the check.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkFile, checkLayering, LAYERS } from '../../scripts/layering';

const ROOT = path.resolve(__dirname, '../..');

test('no module of the project imports a layer above its own', () => {
  expect(checkLayering(ROOT)).toEqual([]);
});

describe('the checker', () => {
  test('an activity importing the client is refused, naming the file, the import and the rule', () => {
    expect(checkFile('activities/fetch-pages.ts', "import { ExportClient } from '../client/export-client';\n")).toEqual([
      { file: 'activities/fetch-pages.ts', specifier: '../client/export-client', problem: 'activities/ must not import client/, which is above it.' },
    ]);
  });

  test.each([
    ['a type-only import', "import type { Stack } from '../devserver/stack';"],
    ['an export-from', "export { startStack } from '../../devserver/stack';"],
    ['a dynamic import', "const m = await import('../../devserver/stack');"],
    ['a require', "const m = require('../../devserver/stack');"],
  ])('the product importing the harness is refused: %s', (_name, line) => {
    const file = line.includes('../../') ? 'client/nested/x.ts' : 'client/x.ts';
    expect(checkFile(file, `${line}\n`)).toEqual([expect.objectContaining({ problem: 'client/ must not import devserver/, which is above it.' })]);
  });

  test('downward imports, imports within a layer and package imports pass', () => {
    const source = ["import { x } from '../workflows/ids';", "import { y } from '../contract/page-activity';", "import { z } from '@temporalio/workflow';", "import { w } from './local';"].join('\n');
    expect(checkFile('workflows/a.ts', source)).toEqual([]);
    expect(checkFile('cli/a.ts', source)).toEqual([]);
    expect(checkFile('test/unit/a.test.ts', "import { startStack } from '../../devserver/stack';\nimport { main } from '../../cli/main';")).toEqual([]);
  });

  test('a new folder must be given a layer, and once given one is checked like the others', () => {
    expect(checkFile('registry/accounts.ts', "import { x } from '../zendesk/account';")).toEqual([expect.objectContaining({ problem: 'registry/ is in no layer: add it to LAYERS in scripts/layering.ts.' })]);
    const table = { layers: [...LAYERS.slice(0, 2), ['registry'], ...LAYERS.slice(2)] };
    expect(checkFile('registry/accounts.ts', "import { x } from '../zendesk/account';", table)).toEqual([]);
    expect(checkFile('registry/accounts.ts', "import { x } from '../client';", table)).toEqual([expect.objectContaining({ problem: 'registry/ must not import client/, which is above it.' })]);
  });

  test('an upward import listed as allowed passes for that file only', () => {
    expect(checkFile('cli/commands/simulator.ts', "const { main } = await import('../../simulator/cli');")).toEqual([]);
    expect(checkFile('cli/commands/run.ts', "import { startSimulator } from '../../simulator';")).toHaveLength(1);
  });

  test('over a folder tree: the one upward import is found', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-layering-'));
    try {
      const write = (file: string, text: string) => {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), text);
      };
      write('zendesk/endpoints.ts', 'export const RESOURCES = [];\n');
      write('workflows/ids.ts', "import { RESOURCES } from '../zendesk/endpoints';\nimport { main } from '../cli/main';\n");
      write('cli/main.ts', "import { RESOURCES } from '../zendesk/endpoints';\n");
      write('node_modules/pkg/index.ts', "import { x } from '../../cli/main';\n");
      expect(checkLayering(root)).toEqual([{ file: path.join('workflows', 'ids.ts'), specifier: '../cli/main', problem: 'workflows/ must not import cli/, which is above it.' }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
