export { AgentModule, AgentService, AGENT_GROUP } from './agent.module';
export { AgentEnv } from './agent.env';
