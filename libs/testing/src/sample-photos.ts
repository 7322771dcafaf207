import { resolve } from 'node:path';

/**
 * The sample photo datasets beside the repository (`../shared/datasets`, compiled here to
 * libs/testing/dist/), or ADSEED_SAMPLE_PHOTOS_DIR. Tests use them when they are on the machine.
 */
export const SAMPLE_PHOTOS_DIR = process.env.ADSEED_SAMPLE_PHOTOS_DIR ?? resolve(__dirname, '../../../../shared/datasets');
