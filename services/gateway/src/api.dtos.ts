import * as contracts from '@adseed/contracts';
import { createZodDto } from 'nestjs-zod';

// The OpenAPI models of the gateway's bodies, queries and responses: classes over the contracts'
// zod schemas (the one source: the same schemas validate requests in ZodPipe). Each class is named
// after its schema, which names its component in the document.

export class ErrorBody extends createZodDto(contracts.ErrorBody) {}

export class UploadAssetResponse extends createZodDto(contracts.UploadAssetResponse) {}
export class ListAssetsQuery extends createZodDto(contracts.ListAssetsQuery) {}
export class ListAssetsResponse extends createZodDto(contracts.ListAssetsResponse) {}
export class AssetContentQuery extends createZodDto(contracts.AssetContentQuery) {}
export class AssetUrlResponse extends createZodDto(contracts.AssetUrlResponse) {}
export class PatchAssetBody extends createZodDto(contracts.PatchAssetBody) {}
export class AssetChangeResponse extends createZodDto(contracts.AssetChangeResponse) {}
export class DeleteAssetResponse extends createZodDto(contracts.DeleteAssetResponse) {}

export class ListSubjectsQuery extends createZodDto(contracts.ListSubjectsQuery) {}
export class ListSubjectsResponse extends createZodDto(contracts.ListSubjectsResponse) {}
export class CreateSubjectBody extends createZodDto(contracts.CreateSubjectBody) {}
export class PatchSubjectBody extends createZodDto(contracts.PatchSubjectBody) {}
export class SubjectResponse extends createZodDto(contracts.SubjectResponse) {}
export class SeedGapsQuery extends createZodDto(contracts.SeedGapsQuery) {}
export class SeedGapsResponse extends createZodDto(contracts.SeedGapsResponse) {}

export class SearchBody extends createZodDto(contracts.SearchBody) {}
export class SearchResponse extends createZodDto(contracts.SearchResponse) {}

export class Conversation extends createZodDto(contracts.Conversation) {}
export class CreateConversationBody extends createZodDto(contracts.CreateConversationBody) {}
export class SendMessageBody extends createZodDto(contracts.SendMessageBody) {}
export class SelectSeedBody extends createZodDto(contracts.SelectSeedBody) {}

export class CreateAdBody extends createZodDto(contracts.CreateAdBody) {}
export class CreateAdResponse extends createZodDto(contracts.CreateAdResponse) {}
export class CreateAdPendingResponse extends createZodDto(contracts.CreateAdPendingResponse) {}

export class CreateJobBody extends createZodDto(contracts.CreateJobBody) {}
export class Job extends createZodDto(contracts.Job) {}
export class JobResponse extends createZodDto(contracts.JobResponse) {}
export class ListJobsQuery extends createZodDto(contracts.ListJobsQuery) {}
export class ListJobsResponse extends createZodDto(contracts.ListJobsResponse) {}

export class ListReviewsQuery extends createZodDto(contracts.ListReviewsQuery) {}
export class ListReviewsResponse extends createZodDto(contracts.ListReviewsResponse) {}
export class ReviewDecisionBody extends createZodDto(contracts.ReviewDecisionBody) {}
export class ReviewResponse extends createZodDto(contracts.ReviewResponse) {}
export class SessionResponse extends createZodDto(contracts.SessionResponse) {}
export class ListAuditQuery extends createZodDto(contracts.ListAuditQuery) {}
export class ListAuditResponse extends createZodDto(contracts.ListAuditResponse) {}
export class CreateExperimentBody extends createZodDto(contracts.CreateExperimentBody) {}
export class ExperimentResponse extends createZodDto(contracts.ExperimentResponse) {}
export class NextPairResponse extends createZodDto(contracts.NextPairResponse) {}
export class VoteBody extends createZodDto(contracts.VoteBody) {}

export class BrandKitResponse extends createZodDto(contracts.BrandKitResponse) {}
export class PutBrandKitBody extends createZodDto(contracts.PutBrandKitBody) {}
export class UploadFontResponse extends createZodDto(contracts.UploadFontResponse) {}
