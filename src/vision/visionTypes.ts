export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The pixel part of a decoded image: 8-bit RGB, row-major. */
export interface DecodedImageLike {
  data: Uint8Array;
  width: number;
  height: number;
}
