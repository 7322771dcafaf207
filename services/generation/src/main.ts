import { runService } from '@adseed/platform';
import { GenerationService } from './generation.module';

runService(GenerationService);
