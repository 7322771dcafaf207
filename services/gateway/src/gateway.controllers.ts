import { AssetsController } from './assets.controller';
import { SearchController } from './search.controller';
import { ConversationsController } from './conversations.controller';
import { AdsController } from './ads.controller';
import { SubjectsController } from './subjects.controller';
import { ReportsController } from './reports.controller';
import { DocsController } from './docs.controller';
import { JobsController } from './jobs.controller';
import { ReviewsController } from './reviews.controller';
import { AuditController } from './audit.controller';
import { ExperimentsController } from './experiments.controller';
import { BrandKitController } from './brand-kit.controller';
import { SessionController } from './session.controller';
import { SignOutController } from './sign-out.controller';

/** The gateway's HTTP API (and its docs page), one controller per resource. */
export const GATEWAY_CONTROLLERS = [
  AssetsController,
  SearchController,
  ConversationsController,
  AdsController,
  SubjectsController,
  ReportsController,
  DocsController,
  JobsController,
  ReviewsController,
  AuditController,
  ExperimentsController,
  BrandKitController,
  SessionController,
  SignOutController,
];
