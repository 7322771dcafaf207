export interface EncoderInfo {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly dim: number;
}
export interface ImageTextEncoder {
  readonly info: EncoderInfo;
  /** Encoded image files (JPEG/PNG/WebP bytes) → L2-normalised vectors, same order. */
  embedImages(images: Buffer[]): Promise<Float32Array[]>;
  /** Texts → L2-normalised vectors in the same space as the images. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
export interface TextEncoder {
  readonly info: EncoderInfo;
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
