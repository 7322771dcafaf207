import { runService } from '@adseed/platform';
import { AgentService } from './agent.module';

void runService(AgentService);
