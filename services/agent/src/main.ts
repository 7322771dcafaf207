import { runService } from '@adseed/platform';
import { AgentService } from './agent.module';

runService(AgentService);
