import { toErrorIssues } from '@adseed/contracts';
import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from './http-errors';

/** Validates a body or query with its contract schema; 400 lists each bad field and why. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly location: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value ?? (this.location === 'body' ? undefined : {}));
    if (result.success) return result.data;
    const issues = toErrorIssues(result.error, this.location === 'query' ? 'query' : '');
    throw new ApiError(400, 'validation_failed', `invalid ${this.location}: ${issues.map((i) => `${i.field} ${i.reason}`).join('; ')}`, issues);
  }
}
