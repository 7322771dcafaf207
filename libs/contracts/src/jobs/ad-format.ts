import { z } from 'zod';

/** The ad formats a job can ask for, by aspect ratio; each has one fixed pixel size. */
export const AdFormat = z.enum(['1:1', '4:5', '9:16', '1.91:1']);
export type AdFormat = z.infer<typeof AdFormat>;

export const AD_FORMAT_SIZES: Readonly<Record<AdFormat, { width: number; height: number }>> = {
  '1:1': { width: 1080, height: 1080 },
  '4:5': { width: 1080, height: 1350 },
  '9:16': { width: 1080, height: 1920 },
  '1.91:1': { width: 1200, height: 628 },
};

/** A form of the format usable in file names: `1x1`, `4x5`, `9x16`, `1.91x1`. */
export const adFormatSlug = (format: AdFormat): string => format.replace(':', 'x');
