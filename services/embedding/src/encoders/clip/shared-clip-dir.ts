import { join, resolve } from 'node:path';

/**
 * The shared folder with the real CLIP ViT-B/32 tokenizer and configs:
 * `$ADSEED_SHARED_DIR/models/clip-vit-base-patch32`, where ADSEED_SHARED_DIR defaults to the
 * `shared` folder beside the repository checkout.
 */
export function sharedClipTokenizerDir(env: NodeJS.ProcessEnv = process.env): string {
  // Compiled to services/embedding/dist/encoders/clip/, five levels below the repository root.
  const repoRoot = resolve(__dirname, '../../../../..');
  const sharedDir = env.ADSEED_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
  return join(sharedDir, 'models', 'clip-vit-base-patch32');
}
