export { RetrievalModule, RetrievalService, RETRIEVAL_GROUP } from './retrieval.module';
export { VECTOR_INDEX } from './vector-index/vector-index.port';
export { RetrievalEnv } from './retrieval.env';
export type { VectorIndex } from './vector-index/vector-index.port';
