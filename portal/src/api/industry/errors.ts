import { AppError, type ErrorCode } from '../../errors.ts';

/**
 * @deprecated Throw `new AppError(code)`: the industry codes live in the portal's one table
 * (`ERRORS`). Kept so that callers outside this folder (the ledger) build until they move.
 */
export class IndustryError extends AppError {
  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(code, message, details);
  }
}
