/**
 * Errors of a declarative document placed where they occur in it, the way
 * Kong's declarative schema reports them (the `fields` of a code 14 error,
 * kong/db/schema/others/declarative_config.lua): `{ services: [null, { port:
 * "..." }] }` for the second service, `{ services: [{ routes: [...] }] }` for
 * its nested routes. Lists are JS arrays with null before the first error.
 */
export type ErrorPath = readonly (string | number)[];
type Node = Record<string, unknown> | unknown[];

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

export class ErrorTree {
  #root: Record<string, unknown> = {};

  get empty(): boolean {
    return Object.keys(this.#root).length === 0;
  }

  get fields(): Record<string, unknown> {
    return this.#root;
  }

  /** Put `value` at `path`; an object merges into an object already there. */
  set(path: ErrorPath, value: unknown): void {
    const [parent, key] = this.#parent(path);
    const old = get(parent, key);
    if (isNode(old) && !Array.isArray(old) && isNode(value) && !Array.isArray(value)) Object.assign(old, value);
    else put(parent, key, value);
  }

  /** Append a message to the list at `path` (Kong's `insert(errs[a][at], msg)`). */
  push(path: ErrorPath, message: string): void {
    const [parent, key] = this.#parent(path);
    const old = get(parent, key);
    if (Array.isArray(old)) old.push(message);
    else put(parent, key, [message]);
  }

  #parent(path: ErrorPath): [Node, string | number] {
    let node: Node = this.#root;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      let next = get(node, k);
      if (!isNode(next) || typeof next !== 'object') {
        next = typeof path[i + 1] === 'number' ? [] : {};
        put(node, k, next);
      }
      node = next as Node;
    }
    return [node, path[path.length - 1]!];
  }
}

function get(node: Node, key: string | number): unknown {
  return Array.isArray(node) ? (typeof key === 'number' ? node[key] : undefined) : node[String(key)];
}

function put(node: Node, key: string | number, value: unknown): void {
  if (Array.isArray(node) && typeof key === 'number') {
    while (node.length < key) node.push(null);
    node[key] = value;
  } else (node as Record<string, unknown>)[String(key)] = value;
}
