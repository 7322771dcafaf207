import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from '../common';
import { CreateJobBody, IDEMPOTENCY_KEY_PATTERN, JobResponse, ListJobsQuery, ListJobsResponse } from './jobs.dto';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The creative-job paths of the gateway's OpenAPI document. */
export function registerJobPaths(r: OpenAPIRegistry, common: { headers: z.ZodObject; errors: Record<number, ReturnType<typeof json>> }): void {
  const { headers, errors } = common;
  const params = z.object({ id: z.string() });
  const notFound = { 404: json(ErrorBody, 'No such job for this tenant.') };
  r.registerPath({
    method: 'post',
    path: '/v1/jobs',
    tags: ['jobs'],
    summary: 'Start a job: ads for every segment (or seed) × format × variant, made in the background',
    description:
      'Answers at once with 202, a `Location` header and the job. Segments are resolved to seeds by search (variants take ' +
      'different seeds from the top results). An `Idempotency-Key` header makes a retried request return the same job.',
    request: {
      headers: headers.extend({
        'idempotency-key': z
          .string()
          .regex(IDEMPOTENCY_KEY_PATTERN)
          .optional()
          .meta({ description: '1-200 visible ASCII characters; a retry with the same key and body returns the same job' }),
      }),
      body: { required: true, content: { 'application/json': { schema: CreateJobBody } } },
    },
    responses: {
      202: json(JobResponse, 'The job was accepted; follow `Location` or `/v1/jobs/{id}/events`.'),
      200: json(JobResponse, 'A job with this Idempotency-Key and the same body already exists; this is it.'),
      ...errors,
      404: json(ErrorBody, 'The brand image or a seed does not exist, or a segment found no seed.'),
      409: json(ErrorBody, 'The Idempotency-Key was used for a different request body.'),
      422: json(
        ErrorBody,
        'Rejected by the content policy: `code` is `moderation_rejected`; each issue names the field (`segments`, `headline`, `callToAction`) and the category. The text itself is never logged.',
      ),
      503: json(ErrorBody, 'The configured moderation endpoint cannot answer and the guardrail fails closed (`moderation_unavailable`).'),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/jobs',
    tags: ['jobs'],
    summary: "The tenant's jobs, newest first",
    request: { headers, query: ListJobsQuery },
    responses: { 200: json(ListJobsResponse, 'A page of jobs (without their ads).'), ...errors },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/jobs/{id}',
    tags: ['jobs'],
    summary: "A job's status, progress and ads",
    request: { headers, params },
    responses: { 200: json(JobResponse, 'The job.'), ...errors, ...notFound },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/jobs/{id}/events',
    tags: ['jobs'],
    summary: "Server-sent events: `event: state` with the job's JSON on every change, until it is done, failed or cancelled",
    request: {
      headers: headers.extend({
        'last-event-id': z
          .string()
          .optional()
          .meta({ description: 'The `id` of the last event the client received (an EventSource sends it when it reconnects): only newer states are sent.' }),
      }),
      params,
    },
    responses: {
      200: {
        description:
          "An event stream: `retry:` (the reconnection delay in ms) first, then `state` events (`data`: the job's JSON, `id`: `<ads with an outcome>-<stage: 0 queued, 1 running, 2 finished>`); it ends after the job's final state. " +
          'With `Last-Event-ID` the current state is sent only if it is newer than that id: a client that reconnects catches up and gets no state twice.',
        content: { 'text/event-stream': { schema: z.string() } },
      },
      204: { description: 'The job is finished and `Last-Event-ID` names its final state: nothing more will come (an EventSource stops reconnecting).' },
      ...errors,
      ...notFound,
      503: {
        description: 'This gateway replica has just started and does not receive updates yet (`events_unavailable`); reconnect after `Retry-After` seconds.',
        content: { 'application/json': { schema: ErrorBody } },
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' as const, minimum: 1 } } },
      },
    },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/jobs/{id}/cancel',
    tags: ['jobs'],
    summary: 'Cancel a job: ads not yet made are not made',
    request: { headers, params },
    responses: { 200: json(JobResponse, 'The job, cancelled (or already finished, unchanged).'), ...errors, ...notFound },
  });
  r.registerPath({
    method: 'delete',
    path: '/v1/jobs/{id}',
    tags: ['jobs'],
    summary: 'Remove a job and its ads now',
    request: { headers, params },
    responses: { 204: { description: 'Removed.' }, ...errors, ...notFound },
  });
}
