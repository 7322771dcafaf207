/** nsfwjs's classes, in the order of the model's output (kept apart from the adapter so config need not load tfjs). */
export const NSFW_CLASS_NAMES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
export type NsfwClass = (typeof NSFW_CLASS_NAMES)[number];
export const NSFW_MODELS = ['MobileNetV2', 'MobileNetV2Mid', 'InceptionV3'] as const;
export type NsfwModelName = (typeof NSFW_MODELS)[number];

/** Where libs/guardrails/onnx/convert.sh writes the converted MobileNetV2 (relative to the working directory: the repository). */
export const DEFAULT_NSFW_ONNX_PATH = '.cache/nsfwjs-onnx/nsfwjs-mobilenet_v2.onnx';
