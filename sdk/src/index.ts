/** `gw-agent`: register this instance with a gw or Kong gateway. */
export { register, routeName, type Registration, type RegistrationState } from './register.js';
export type { RegisterOptions } from './options.js';
export {
  detectGateway,
  drainTargets,
  upstreamHealth,
  type DrainOptions,
  type DrainProgress,
  type DrainResult,
  type GatewayKind,
  type TargetHealth,
} from './drain.js';
export {
  promote,
  rollback,
  deploymentUpstream,
  type PromoteOptions,
  type RollbackOptions,
  type SwitchResult,
  type AutoPromoteOutcome,
} from './blue-green.js';
export { GwSdkError, isGwSdkError, type SdkErrorCode } from './errors.js';
export { AdminApiError } from './kong-admin.js';
