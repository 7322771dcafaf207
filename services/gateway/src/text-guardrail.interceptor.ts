import type { ErrorIssue } from '@adseed/contracts';
import { ModerationUnavailableError, TEXT_GUARDRAIL, type TextField, type TextGuardrail } from '@adseed/guardrails';
import {
  applyDecorators,
  Inject,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import type { Logger } from '@adseed/telemetry';
import { LOGGER } from '@adseed/platform';
import { ApiError } from './http-errors';

const MODERATED_FIELDS = Symbol('MODERATED_FIELDS');

/**
 * Checks the named body fields with the text guardrail before the handler runs: a rejection is
 * 422 `moderation_rejected` naming each field and category. Put it above `FileInterceptor` on a
 * multipart route (decorators apply bottom-up, so the form is parsed first).
 */
export const ModerateText = (...fields: string[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(MODERATED_FIELDS, fields), UseInterceptors(TextGuardrailInterceptor));

/**
 * Runs at the edge, before the body reaches a service or a log line. It logs only the fields
 * and categories of a rejection, never the text.
 */
@Injectable()
export class TextGuardrailInterceptor implements NestInterceptor {
  constructor(
    @Inject(TEXT_GUARDRAIL) private readonly guardrail: TextGuardrail,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly reflector: Reflector,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const names = this.reflector.get<string[] | undefined>(MODERATED_FIELDS, context.getHandler()) ?? [];
    const request = context.switchToHttp().getRequest<Request & { tenant?: string }>();
    const body = (request.body ?? {}) as Record<string, unknown>;
    // Strings and lists of strings (tags), each element on its own; anything else is the validation pipe's to reject, after this.
    const fields: TextField[] = names.flatMap((field) => {
      const value = body[field];
      const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
      return texts.map((text) => ({ field, text }));
    });
    const tenant = request.tenant ?? '';
    let verdict;
    try {
      verdict = await this.guardrail.check(tenant, fields);
    } catch (error) {
      if (error instanceof ModerationUnavailableError) {
        throw new ApiError(503, 'moderation_unavailable', 'the moderation service cannot check this text right now; try again shortly', [
          { field: fields[0]?.field ?? '(body)', reason: 'moderation unavailable' },
        ]);
      }
      throw error;
    }
    if (!verdict.allowed) {
      const issues: ErrorIssue[] = verdict.findings.map((f) => ({ field: f.field, reason: f.category }));
      this.logger.info('text rejected by the guardrail', { tenant, route: (request.route as { path?: string } | undefined)?.path, findings: verdict.findings });
      const fieldsNamed = [...new Set(issues.map((i) => i.field))].join(', ');
      const categories = [...new Set(issues.map((i) => i.reason))].join(', ');
      throw new ApiError(422, 'moderation_rejected', `rejected by the content policy (${categories}): rephrase ${fieldsNamed}`, issues);
    }
    return next.handle();
  }
}
