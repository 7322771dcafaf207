export { GenerationModule, GenerationService, GENERATION_GROUP } from './generation.module';
export { GenerationEnv } from './generation.env';
export { renderDemoBrandPack } from './generators/demo-brand';
export { LocalAdGenerator } from './generators/local-ad.generator';
export { AD_GENERATOR, type AdGenerator, type AdRequest, type GeneratedAd } from './generators/ad-generator.port';
