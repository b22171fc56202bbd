/**
 * Errors a person can act on. `UserError` carries a message written for the operator
 * (what went wrong and what to do); anything else is a bug and is logged with its stack.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(
    message: string,
    /** Stable machine-readable code, e.g. for JSON error bodies. */
    readonly code: string = 'invalid-input',
  ) {
    super(message);
  }
}

export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super(message, 'invalid-settings');
  }
}

/** An image that cannot be used: empty, truncated, not an image, too large. */
export class ImageError extends UserError {
  override readonly name = 'ImageError';
  constructor(message: string, code = 'invalid-image') {
    super(message, code);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
