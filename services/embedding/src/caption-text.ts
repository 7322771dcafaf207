/**
 * The text the caption encoder sees for an asset: its caption, else a name derived from the
 * file name as uploaded (`originalName`: `chien-été-plage.jpg`, `猫の写真.jpg`) or, without one, from
 * the storage key's ASCII slug (`golden_retriever_12.jpg` → `golden retriever`), plus its tags.
 */
export function captionTextFor(asset: { caption?: string; tags: string[]; path: string; originalName?: string }): string | undefined {
  const base = asset.caption?.trim() || (asset.originalName ? nameFromPath(asset.originalName) : undefined) || nameFromPath(asset.path);
  const tags = asset.tags.filter((t) => !base?.toLowerCase().includes(t.toLowerCase().replace(/_/g, ' ')));
  const text = [base, ...tags.map((t) => t.replace(/_/g, ' '))].filter(Boolean).join(', ');
  return text || undefined;
}

function nameFromPath(path: string): string | undefined {
  const file = path.split('/').pop() ?? '';
  const stem = file.replace(/\.[a-z0-9]+$/i, '');
  if (/^[0-9a-f]{16,}$/i.test(stem)) return undefined; // a content hash says nothing
  const words = stem
    .normalize('NFC')
    .replace(/[_\-.]+/g, ' ')
    .replace(/\b\d+\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return words || undefined;
}
