/**
 * How a registration is named and carried, shared by the SDK (which writes
 * it) and the gateway's Cloud Map discovery (which reads it): the route
 * name every instance of a service upserts, and the custom attributes gw
 * writes on a Cloud Map instance.
 */

/** Route name derived from service and path, so every instance (and Cloud Map discovery) upserts the same route. */
export function routeName(service: string, path: string): string {
  const slug = path
    .replace(/^~/, 're-')
    .replace(/[^A-Za-z0-9._~-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${service}-${slug || 'root'}`;
}

/** Custom attribute names gw writes next to AWS_INSTANCE_IPV4 / AWS_INSTANCE_PORT (the gateway's Cloud Map provider reads them). */
export const CLOUD_MAP_ATTR = {
  service: 'GW_SERVICE',
  /** comma-joined paths */
  routes: 'GW_ROUTES',
  /** the configured weight, 0 while marked down or draining */
  weight: 'GW_WEIGHT',
  deployment: 'GW_DEPLOYMENT',
  /** the full instance id (an ECS task ARN does not fit Cloud Map's 64-character InstanceId) */
  instance: 'GW_INSTANCE',
  /** comma-joined extra tags (only when there are some) */
  tags: 'GW_TAGS',
} as const;
