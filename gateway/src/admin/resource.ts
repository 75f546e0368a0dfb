/**
 * Registers one admin path with a handler per method; other methods answer
 * Kong's 405, OPTIONS answers 204 with `Allow`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { coerceFormInput } from '../entities/index.js';
import type { EntityKind } from '../entities/types.js';
import { AdminError, methodNotAllowed, sendError, toAdminError } from './kong-errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export interface Result {
  status: number;
  body?: unknown;
  /** content type when the body is not JSON */
  type?: string;
  headers?: Record<string, string>;
}
export type Handler = (req: FastifyRequest) => Promise<Result> | Result;

const ALL: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Marks a form-urlencoded body, typed per entity only once the handler knows the kind. */
export const kFormBody = Symbol('gw.formBody');
export interface FormBody {
  [kFormBody]: Record<string, string | string[]>;
}

/** The request body as entity input: JSON as sent, form fields coerced by the entity's schema. */
export function bodyOf(req: FastifyRequest, kind: EntityKind): Record<string, unknown> {
  const b = req.body as unknown;
  if (b === undefined || b === null) return {};
  if (typeof b === 'object' && kFormBody in (b as object)) {
    return coerceFormInput(kind, (b as FormBody)[kFormBody]) as Record<string, unknown>;
  }
  return b as Record<string, unknown>;
}

export function resource(app: FastifyInstance, url: string, handlers: Partial<Record<Method, Handler>>): void {
  const allow = [...Object.keys(handlers), 'OPTIONS'];
  if (handlers.GET) allow.push('HEAD');
  const allowHeader = allow.sort().join(', ');
  app.route({
    method: ALL as string[],
    url,
    handler: async (req, reply) => {
      if (req.method === 'OPTIONS') {
        // Kong's pre-flight answer (kong/api/api_helpers.lua): the methods, and
        // the headers the browser asked for (else Content-Type)
        const asked = req.headers['access-control-request-headers'];
        return reply
          .code(204)
          .header('Allow', allowHeader)
          .header('Access-Control-Allow-Methods', allowHeader)
          .header('Access-Control-Allow-Headers', typeof asked === 'string' && asked !== '' ? asked : 'Content-Type')
          .send();
      }
      const method = (req.method === 'HEAD' ? 'GET' : req.method) as Method;
      const h = handlers[method];
      try {
        if (!h) throw methodNotAllowed();
        const r = await h(req);
        reply.code(r.status);
        if (r.type !== undefined) reply.type(r.type);
        if (r.headers !== undefined) reply.headers(r.headers);
        return r.body === undefined ? reply.send() : reply.send(r.body);
      } catch (err) {
        const e: AdminError = toAdminError(err);
        return sendError(reply, e);
      }
    },
  });
}

export function param(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
}
export function query(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, string | string[] | undefined>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q)) out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  return out;
}
