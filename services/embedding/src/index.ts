export { EmbeddingModule, EmbeddingService, EMBEDDING_GROUP } from './embedding.module';
export { EmbeddingEnv } from './embedding.env';
export { ENCODERS, type LoadedEncoders } from './encoder-registry';
export { ensureCaptionModel } from './models/fetch-models';
export { generateClipModels, TOY_MODEL_ID } from './encoders/clip/clip-model.generator';
export { sharedClipTokenizerDir } from './encoders/clip/shared-clip-dir';
