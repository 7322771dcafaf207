import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from '../common';
import {
  CreateExperimentBody,
  ExperimentResponse,
  ListAuditQuery,
  ListAuditResponse,
  ListReviewsQuery,
  ListReviewsResponse,
  NextPairResponse,
  ReviewDecisionBody,
  ReviewResponse,
  SessionResponse,
  VoteBody,
} from './governance.dto';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** Review, audit and blind A/B paths of the gateway's OpenAPI document. */
export function registerGovernancePaths(r: OpenAPIRegistry, common: { headers: z.ZodObject; errors: Record<number, ReturnType<typeof json>> }): void {
  const { headers, errors } = common;
  const forbidden = { 403: json(ErrorBody, 'The key lacks the role this needs (`forbidden`).') };
  const params = z.object({ id: z.string() });
  r.registerPath({
    method: 'get',
    path: '/v1/reviews',
    tags: ['review'],
    summary: 'Ads by review state (reviewer): `status=pending` is the queue',
    request: { headers, query: ListReviewsQuery },
    responses: { 200: json(ListReviewsResponse, 'A page of ads with their review state.'), ...errors, ...forbidden },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/ads/{id}/review',
    tags: ['review'],
    summary: 'Approve or reject an ad (reviewer); a rejection needs a reason',
    description:
      "The reviewer (the key's name) and the time are recorded on the ad and in the audit log. `id` is the ad's `adId` (from `GET /v1/reviews`, or `review.adId` on job and conversation ads).",
    request: { headers, params, body: { required: true, content: { 'application/json': { schema: ReviewDecisionBody } } } },
    responses: {
      200: json(ReviewResponse, "The ad's review state after the decision."),
      ...errors,
      ...forbidden,
      404: json(ErrorBody, 'No such ad for this tenant.'),
    },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/session',
    tags: ['session'],
    summary: 'Sign the web UI in: sets an HttpOnly session cookie for the key (images and event streams)',
    description:
      'Needs `Authorization: Bearer <key>`. With API keys configured, answers with `Set-Cookie: adseed_session=…; Path=/v1; HttpOnly; SameSite=Strict` (plus `Secure` over HTTPS), valid for `ADSEED_SESSION_TTL_SECONDS`. The cookie authenticates **reads only** (GET/HEAD: `<img>` and `EventSource`, which cannot send headers); every other method still needs the bearer key, so a cross-site request can change nothing. It ends when its key is removed or changed. Without keys, nothing is set.',
    request: { headers },
    responses: { 200: json(SessionResponse, 'Signed in (the cookie is set when keys are configured).'), ...errors },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/session',
    tags: ['session'],
    summary: 'Who the caller is (key, session cookie, or the local admin without keys)',
    request: { headers },
    responses: { 200: json(SessionResponse, 'The caller.'), ...errors },
  });
  r.registerPath({
    method: 'delete',
    path: '/v1/session',
    tags: ['session'],
    summary: 'Sign out: clears the session cookie',
    responses: { 204: { description: 'The cookie is cleared.' }, ...errors },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/audit',
    tags: ['audit'],
    summary: 'The append-only audit log (admin): decisions, uploads, deletions, key use; oldest first',
    request: { headers, query: ListAuditQuery },
    responses: { 200: json(ListAuditResponse, 'A page of entries.'), ...errors, ...forbidden },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/experiments',
    tags: ['experiments'],
    summary: 'Start a blind A/B experiment (reviewer): every configuration makes an ad from every seed',
    request: { headers, body: { required: true, content: { 'application/json': { schema: CreateExperimentBody } } } },
    responses: {
      202: json(ExperimentResponse, 'Accepted; ads are being made.'),
      ...errors,
      ...forbidden,
      404: json(ErrorBody, "The brand image does not exist, or a seed path is not one of this tenant's seed photos."),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/experiments/{id}',
    tags: ['experiments'],
    summary: 'An experiment: per configuration wins, win rate with a 95 % Wilson interval, Bradley–Terry ranking',
    request: { headers, params },
    responses: { 200: json(ExperimentResponse, 'The experiment and its results.'), ...errors, ...forbidden, 404: json(ErrorBody, 'No such experiment.') },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/experiments/{id}/next-pair',
    tags: ['experiments'],
    summary: 'Two ads from the same seed and brand, sides randomised, configurations hidden (null: none ready yet)',
    request: { headers, params },
    responses: { 200: json(NextPairResponse, 'A pair to vote on.'), ...errors, ...forbidden, 404: json(ErrorBody, 'No such experiment.') },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/experiments/{id}/votes',
    tags: ['experiments'],
    summary: 'Vote on a pair: left, right or both bad (one vote per pair)',
    request: { headers, params, body: { required: true, content: { 'application/json': { schema: VoteBody } } } },
    responses: {
      201: json(ExperimentResponse, 'Counted; the experiment with its results.'),
      ...errors,
      ...forbidden,
      404: json(ErrorBody, 'No such experiment or pair.'),
      409: json(ErrorBody, 'This pair has a vote already.'),
    },
  });
}
