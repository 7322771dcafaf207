export { RetrievalModule, RetrievalService, RETRIEVAL_GROUP, VECTOR_INDEX } from './retrieval.module';
export { RetrievalEnv } from './retrieval.env';
export type { VectorIndex } from './vector-index/vector-index.port';
