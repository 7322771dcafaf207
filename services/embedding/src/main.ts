import { runService } from '@adseed/platform';
import { EmbeddingService } from './embedding.module';

runService(EmbeddingService);
