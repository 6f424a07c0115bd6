/**
 * SeaweedFS (Apache-2.0) as a real S3-compatible server for tests: `weed server -filer -s3`, built by
 * cluster/build-seaweedfs.sh into .tools/seaweedfs/bin, on free ports of 127.0.0.1 with a temp data
 * folder, and one S3 identity whose keys the test gives its workers as AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY. `down` and `up` stop and start it on the same folder and ports (its objects
 * kept); `stop` ends it and removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { eventually } from './poll';
import { freePort, HOST } from './ports';
import { spawnGroup, type GroupProcess } from './process';

export const SEAWEEDFS_BIN = path.resolve(__dirname, '..', '..', '.tools', 'seaweedfs', 'bin', 'weed');

export interface SeaweedFs {
  /** The S3 endpoint, http://127.0.0.1:<port>. */
  readonly endpoint: string;
  /** The keys of its one identity, as the AWS SDK reads them from a worker's environment. */
  readonly credentials: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** An S3 client for the test's own checks. */
  readonly client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Kills it (SIGKILL: no goodbye to clients mid-request); its data folder stays. */
  down(): Promise<void>;
  /** Starts it again on the same folder and ports; resolves once S3 answers. */
  up(): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** Where a source checkout keeps the binary (dist/devserver is two folders down, devserver/ one). */
function binary(): string {
  const candidates = [SEAWEEDFS_BIN, path.resolve(__dirname, '..', '.tools', 'seaweedfs', 'bin', 'weed')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error('SeaweedFS is not built: run `bash cluster/build-seaweedfs.sh` (npm run test:cluster does).');
  return found;
}

export async function startSeaweedFs(): Promise<SeaweedFs> {
  const bin = binary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-seaweedfs-'));
  const ports = { master: 0, masterGrpc: 0, volume: 0, volumeGrpc: 0, filer: 0, filerGrpc: 0, s3: 0, s3Grpc: 0 };
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
  const credentials = { AWS_ACCESS_KEY_ID: `test-${randomBytes(6).toString('hex')}`, AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('hex'), AWS_REGION: 'us-east-1' };
  const config = path.join(dir, 's3.json');
  const identity = { name: 'test', credentials: [{ accessKey: credentials.AWS_ACCESS_KEY_ID, secretKey: credentials.AWS_SECRET_ACCESS_KEY }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] };
  writeFileSync(config, JSON.stringify({ identities: [identity] }), { mode: 0o600 });
  // prettier-ignore
  const args = [
    'server', `-dir=${dir}`, `-ip=${HOST}`, `-ip.bind=${HOST}`, '-master.telemetry=false', '-volume.max=0',
    `-master.port=${ports.master}`, `-master.port.grpc=${ports.masterGrpc}`, `-volume.port=${ports.volume}`, `-volume.port.grpc=${ports.volumeGrpc}`,
    '-filer', `-filer.port=${ports.filer}`, `-filer.port.grpc=${ports.filerGrpc}`, `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    '-s3', `-s3.port=${ports.s3}`, `-s3.port.grpc=${ports.s3Grpc}`, '-s3.port.iceberg=0', '-s3.port.lance=0', `-s3.config=${config}`,
    `-s3.localSocket=${path.join(dir, 's3.sock')}`,
  ];
  const endpoint = `http://${HOST}:${ports.s3}`;
  const client = new S3Client({ endpoint, region: credentials.AWS_REGION, forcePathStyle: true, credentials: { accessKeyId: credentials.AWS_ACCESS_KEY_ID, secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY } });
  let server: GroupProcess | undefined;
  let earlier = '';

  async function up(): Promise<void> {
    const started = spawnGroup(bin, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, ref: false });
    server = started;
    await eventually(
      'SeaweedFS to answer S3 requests',
      async () => (await client.send(new ListBucketsCommand({}))).$metadata.httpStatusCode,
      120_000,
      250,
      () => {
        if (!started.running()) throw new Error(`SeaweedFS exited while starting:\n${started.output().slice(-4000)}`);
      },
    );
  }

  async function down(): Promise<void> {
    earlier += server?.output() ?? '';
    await server?.stop({ signal: 'SIGKILL' });
    server = undefined;
  }

  try {
    await up();
  } catch (err) {
    await down();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint,
    credentials,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    down,
    up,
    output: () => earlier + (server?.output() ?? ''),
    async stop() {
      client.destroy();
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
