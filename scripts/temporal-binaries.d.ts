export interface TemporalBinary {
  path: string;
  /** env: TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH; path: found on PATH; tools: .tools/venv/bin. */
  source: 'env' | 'path' | 'tools';
  /** For error messages, e.g. "/x/temporal (on PATH)". */
  describe: string;
}
export const TOOLS_BIN: string;
/** The Temporal CLI (`temporal server start-dev`); undefined lets the SDK download one. */
export function findTemporalCli(): TemporalBinary | undefined;
/** The time-skipping test server; undefined lets the SDK download one. */
export function findTestServer(): TemporalBinary | undefined;
