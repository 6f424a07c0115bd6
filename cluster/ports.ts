/** Ports for the test cluster's services, on 127.0.0.1, all different from each other. */
import { canBind, freePort, HOST } from '../devserver/ports';
import { SERVICES, type ServiceName, type ServicePorts } from './config';

export { HOST };
const MEMBERSHIP_PORTS = { min: 20_000, max: 32_767 };

/**
 * A free port below 32768. The membership table stores each service's membership port as a SMALLINT
 * (temporal schema, `cluster_membership.rpc_port`), so a port from the kernel's ephemeral range
 * (32768 and up on Linux) fails the service's first heartbeat and the service exits.
 */
async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = MEMBERSHIP_PORTS.min + Math.floor(Math.random() * (MEMBERSHIP_PORTS.max - MEMBERSHIP_PORTS.min + 1));
    if (await canBind(port)) return port;
  }
}

export interface ClusterPorts {
  services: Record<ServiceName, ServicePorts>;
  ui: number;
}

export async function allocatePorts(): Promise<ClusterPorts> {
  const taken = new Set<number>();
  const next = async (find: () => Promise<number>): Promise<number> => {
    for (;;) {
      const port = await find();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const services = {} as Record<ServiceName, ServicePorts>;
  for (const service of SERVICES) {
    services[service] = { grpc: await next(freePort), membership: await next(freeMembershipPort), metrics: await next(freePort) };
  }
  services.frontend.http = await next(freePort);
  return { services, ui: await next(freePort) };
}
