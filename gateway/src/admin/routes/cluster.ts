/**
 * `GET /cluster/nodes` (gw extension): the gateway nodes sharing this
 * node's database, from their heartbeats (cluster mode); a single node
 * (file or memory store) lists itself.
 */
import type { FastifyInstance } from 'fastify';
import { resource } from '../resource.js';

export interface ClusterNodeView {
  id: string;
  hostname: string;
  version: string;
  revision: number;
  /** Unix seconds (the database clock in cluster mode) */
  last_seen: number;
  reachable: boolean;
  self: boolean;
}

export interface ClusterView {
  nodes(): ClusterNodeView[];
}

export function registerClusterRoutes(app: FastifyInstance, view: ClusterView): void {
  resource(app, '/cluster/nodes', {
    GET: () => {
      const data = view.nodes().map((n) => ({
        id: n.id,
        hostname: n.hostname,
        version: n.version,
        revision: n.revision,
        last_seen: n.last_seen,
        reachable: n.reachable,
        self: n.self,
      }));
      return { status: 200, body: { data, next: null } };
    },
  });
}
