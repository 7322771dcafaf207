/**
 * A small saliency map, to keep the product off the photo's subject. Two cues on a downscaled
 * copy of the canvas, each normalised to [0, 1] and averaged:
 * - colour distinctness (Achanta et al. 2009, "frequency-tuned" saliency): how far each blurred
 *   pixel's colour is from the image's mean colour, in an opponent colour space;
 * - detail: the difference between each pixel's luminance and its blurred surround.
 * A dog on a lawn lights up on both; flat sky, floor and wall stay dark.
 */

export interface SaliencyMap {
  /** Width and height of the map; each cell covers `scale` canvas pixels per side. */
  width: number;
  height: number;
  scale: number;
  values: Float32Array;
}

/** Box blur with a (2r+1)² window, clamped at the borders; two 1-D passes. */
function boxBlur(src: Float32Array, width: number, height: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let n = 0;
      for (let dx = -r; dx <= r; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < width) {
          sum += src[y * width + xx];
          n++;
        }
      }
      tmp[y * width + x] = sum / n;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = -r; dy <= r; dy++) {
        const yy = y + dy;
        if (yy >= 0 && yy < height) {
          sum += tmp[yy * width + x];
          n++;
        }
      }
      out[y * width + x] = sum / n;
    }
  }
  return out;
}

function normalise(values: Float32Array): Float32Array {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (max > 0) for (let i = 0; i < values.length; i++) values[i] /= max;
  return values;
}

/** `rgb`: a downscaled canvas, 3 channels; `scale`: canvas pixels per map cell. */
export function saliencyMap(rgb: Buffer, width: number, height: number, scale: number): SaliencyMap {
  const n = width * height;
  const l = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const bl = rgb[i * 3 + 2];
    l[i] = 0.299 * r + 0.587 * g + 0.114 * bl;
    a[i] = r - g;
    b[i] = (r + g) / 2 - bl;
  }
  const mean = (c: Float32Array): number => c.reduce((s, v) => s + v, 0) / n;
  const [ml, ma, mb] = [mean(l), mean(a), mean(b)];
  const [sl, sa, sb] = [boxBlur(l, width, height, 1), boxBlur(a, width, height, 1), boxBlur(b, width, height, 1)];
  const colour = new Float32Array(n);
  for (let i = 0; i < n; i++) colour[i] = Math.hypot(sl[i] - ml, sa[i] - ma, sb[i] - mb);
  const surround = boxBlur(l, width, height, 3);
  const detail = new Float32Array(n);
  for (let i = 0; i < n; i++) detail[i] = Math.abs(l[i] - surround[i]);
  normalise(colour);
  normalise(detail);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (colour[i] + detail[i]) / 2;
  return { width, height, scale, values };
}

/** Mean saliency under a canvas rectangle (0 = nothing of interest, 1 = all subject). */
export function meanSaliency(map: SaliencyMap, rect: { left: number; top: number; width: number; height: number }): number {
  const x0 = Math.max(0, Math.floor(rect.left / map.scale));
  const y0 = Math.max(0, Math.floor(rect.top / map.scale));
  const x1 = Math.min(map.width, Math.ceil((rect.left + rect.width) / map.scale));
  const y1 = Math.min(map.height, Math.ceil((rect.top + rect.height) / map.scale));
  let sum = 0;
  let count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += map.values[y * map.width + x];
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Where a `width`×`height` canvas window over the map holds the most saliency (sum of squares,
 * so a strong subject outweighs diffuse texture); ties go to the centre. Canvas pixels.
 */
export function mostSalientWindow(map: SaliencyMap, canvasWidth: number, canvasHeight: number, width: number, height: number): { left: number; top: number } {
  const cellsW = Math.min(map.width, Math.round(width / map.scale));
  const cellsH = Math.min(map.height, Math.round(height / map.scale));
  // Prefix sums of squares per column and row make every window O(1).
  const integral = new Float64Array((map.width + 1) * (map.height + 1));
  const W = map.width + 1;
  for (let y = 0; y < map.height; y++) {
    let row = 0;
    for (let x = 0; x < map.width; x++) {
      const v = map.values[y * map.width + x];
      row += v * v;
      integral[(y + 1) * W + x + 1] = integral[y * W + x + 1] + row;
    }
  }
  const sum = (x: number, y: number): number =>
    integral[(y + cellsH) * W + x + cellsW] - integral[y * W + x + cellsW] - integral[(y + cellsH) * W + x] + integral[y * W + x];
  const freeX = map.width - cellsW;
  const freeY = map.height - cellsH;
  let best = { x: Math.floor(freeX / 2), y: Math.floor(freeY / 2) };
  let bestScore = -Infinity;
  for (let y = 0; y <= freeY; y++) {
    for (let x = 0; x <= freeX; x++) {
      const offCentre = Math.abs(x - freeX / 2) / Math.max(1, freeX) + Math.abs(y - freeY / 2) / Math.max(1, freeY);
      const score = sum(x, y) * (1 - 0.02 * offCentre);
      if (score > bestScore) {
        bestScore = score;
        best = { x, y };
      }
    }
  }
  const clampTo = (v: number, max: number): number => Math.min(Math.max(0, v), max);
  return { left: clampTo(Math.round(best.x * map.scale), canvasWidth - width), top: clampTo(Math.round(best.y * map.scale), canvasHeight - height) };
}
