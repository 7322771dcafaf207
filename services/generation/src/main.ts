import { runService } from '@adseed/platform';
import { GenerationService } from './generation.module';

void runService(GenerationService);
