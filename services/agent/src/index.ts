export { AgentModule, AgentService, AGENT_GROUP } from './agent.module';
export { AgentEnv } from './agent.env';
export { SubjectCatalogueService } from './subjects/subject-catalogue.service';
