/**
 * Errors the SDK raises on purpose, with a stable `code` to branch on
 * (never on the message). Gateway answers that are not what we expected are
 * {@link AdminApiError}s (kong-admin.ts).
 */
export type SdkErrorCode =
  /** promote/rollback: the service does not exist */
  | 'GW_ERR_SDK_UNKNOWN_SERVICE'
  /** promote: no upstream for that deployment */
  | 'GW_ERR_SDK_UNKNOWN_DEPLOYMENT'
  /** promote: the deployment's upstream has no healthy target (pass `force: true` to switch anyway) */
  | 'GW_ERR_SDK_NOT_READY'
  /** rollback: the service was never switched, so there is no previous upstream */
  | 'GW_ERR_SDK_NOTHING_TO_ROLL_BACK'
  /** rollback: the previous upstream was deleted */
  | 'GW_ERR_SDK_PREVIOUS_GONE'
  /** register() with backend cloudmap: the Cloud Map service id does not exist (in that region/account) */
  | 'GW_ERR_SDK_CLOUD_MAP_UNKNOWN_SERVICE'
  /** register() with backend cloudmap: an attribute Cloud Map cannot take (not an IPv4 host, a value over 1,024 characters) */
  | 'GW_ERR_SDK_CLOUD_MAP_ATTRIBUTE'
  /** register(): the gateway (or Cloud Map) refused it with an answer no retry can fix (401, 403, 400…); `cause` is that answer (an {@link AdminApiError} on gw/Kong) */
  | 'GW_ERR_SDK_REGISTRATION_REFUSED'
  /** register(): retried (gateway unreachable, 5xx, 429…) and still not registered when `registerTimeout` ran out; `cause` is the last attempt's error */
  | 'GW_ERR_SDK_REGISTRATION_TIMEOUT';

export class GwSdkError extends Error {
  constructor(
    readonly code: SdkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GwSdkError';
  }
}

export function isGwSdkError(err: unknown): err is GwSdkError {
  return err instanceof GwSdkError;
}
