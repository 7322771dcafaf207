import type { ErrorIssue } from '@adseed/contracts';

/** An HTTP error whose body tells the caller what to fix. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: ErrorIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
