import { startDevServer } from '../helpers/temporal';
test('leak', async () => {
  const s = await startDevServer();
  require('node:fs').writeFileSync('/tmp/tc/pid', String(s.pid));
  if (process.env.HANG) await new Promise(() => undefined);
}, 600_000);
