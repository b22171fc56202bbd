const JPEG_START = [0xff, 0xd8, 0xff];
const PNG_START = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * A cheap look at the first bytes, so that a source can refuse a pushed or replayed file
 * that is plainly not an image before it travels through the lane. Whether the image
 * decodes is the decoder's question, not this one's.
 */
export function looksLikeJpegOrPng(bytes: Uint8Array): boolean {
  return startsWith(bytes, JPEG_START) || startsWith(bytes, PNG_START);
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}
