/** What the image classifier thinks of one image. */
export interface ImageVerdict {
  flagged: boolean;
  /** The classes whose score reached their threshold, e.g. `["porn"]`. */
  reasons: string[];
  /** Every class's probability. */
  scores: Record<string, number>;
  /** Which classifier decided, e.g. `nsfwjs:MobileNetV2`. */
  model: string;
}

/** The port the gateway depends on: may this image be indexed and used in ads? */
export interface ImageGuardrail {
  readonly model: string;
  check(image: Buffer): Promise<ImageVerdict>;
}

export const IMAGE_GUARDRAIL = Symbol('IMAGE_GUARDRAIL');

/** The classifier could not run (model failed to load, image could not be prepared). */
export class ImageModerationUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageModerationUnavailableError';
  }
}
