/**
 * Throwaway TLS material for the test cluster, made with the openssl command line (Node can make keys
 * but not certificates): a CA, a server certificate for the frontend and, for mutual TLS, a client
 * certificate signed by the same CA. For a cluster with the namespace authorizer (cluster/authz-server),
 * the client certificate is the workers' (subject CN "worker") and a second one, of another CN, is a
 * client's that is not a worker. Everything lives for two days, in the folder given.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The name the server certificate is issued to; clients that dial 127.0.0.1 verify against it. */
export const SERVER_NAME = 'localhost';

/** The subject CN that cluster/authz-server/authorizer.go takes for a worker. */
export const WORKER_COMMON_NAME = 'worker';

export interface CertificateFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** With roles: the certificate of a client that is not a worker. */
  nonWorkerCert?: string;
  nonWorkerKey?: string;
}

const DAYS = '2';

function openssl(args: string[]): void {
  execFileSync(process.env.OPENSSL ?? 'openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 key and a certificate signed by the CA, with the extensions in `extensions` (openssl syntax). */
function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  const file = (ext: string) => path.join(dir, `${name}.${ext}`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('key'), '-out', file('csr'), '-subj', subject]);
  writeFileSync(file('ext'), extensions.join('\n') + '\n');
  openssl(['x509', '-req', '-in', file('csr'), '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial', '-days', DAYS, '-out', file('pem'), '-extfile', file('ext')]);
}

const CLIENT_EXTENSIONS = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'];

/** `roles`: the client certificate is the workers' (CN "worker"), and a non-worker's is made too. */
export function makeCertificates(dir: string, { roles = false } = {}): CertificateFiles {
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.pem'), '-days', DAYS,
    '-subj', '/CN=zendesk-export test cluster CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // Go and rustls both check the subjectAltName only, never the common name.
  issue(dir, 'server', `/CN=${SERVER_NAME}`, [
    `subjectAltName=DNS:${SERVER_NAME},IP:127.0.0.1`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ]);
  issue(dir, 'client', roles ? `/CN=${WORKER_COMMON_NAME}` : '/CN=zendesk-export test client', CLIENT_EXTENSIONS);
  if (roles) issue(dir, 'non-worker', '/CN=zendesk-export test client', CLIENT_EXTENSIONS);
  return {
    caCert: path.join(dir, 'ca.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
    ...(roles ? { nonWorkerCert: path.join(dir, 'non-worker.pem'), nonWorkerKey: path.join(dir, 'non-worker.key') } : {}),
  };
}
