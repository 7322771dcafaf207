import { runService } from '@adseed/platform';
import { RetrievalService } from './retrieval.module';

runService(RetrievalService);
