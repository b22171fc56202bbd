import { consume, preparedInput } from './freeingSteps.js';
import type { FaceApiModule, Tf } from './tensorflowBackend.js';

type Tensor1D = import('@tensorflow/tfjs').Tensor1D;
type Tensor4D = import('@tensorflow/tfjs').Tensor4D;
interface ConvParams {
  filters: Tensor4D;
  bias: Tensor1D;
}
interface SeparableConvParams {
  depthwise_filter: Tensor4D;
  pointwise_filter: Tensor4D;
  bias: Tensor1D;
}
interface TinyDetectorParams {
  conv0: ConvParams | SeparableConvParams;
  conv1: SeparableConvParams;
  conv2: SeparableConvParams;
  conv3: SeparableConvParams;
  conv4: SeparableConvParams;
  conv5: SeparableConvParams;
  conv6?: SeparableConvParams;
  conv7?: SeparableConvParams;
  conv8: ConvParams;
}
/** The parts of face-api's TinyFaceDetector (1.7.15) that its forward pass reads. */
interface TinyDetectorNet {
  params?: TinyDetectorParams;
  config: { isFirstLayerConv2d?: boolean; withSeparableConvs: boolean; meanRgb?: [number, number, number] };
  forwardInput: (input: { toBatchTensor: (size: number, centred: boolean) => Tensor4D }, inputSize: number) => Tensor4D;
}

/**
 * The most of one layer's full-resolution output that exists at a time (layerThenPoolInBands).
 * At 416 px the first layer's output is 11 MB and its leaky ReLU holds three of them at once.
 * Tensors above the weights at the peak of a 640×480 detection: face-api's pass 69 MB, freeing
 * early 35 MB, in bands of 2 MiB 18 MB (the peak is then the input's preparation). 1 MiB bands
 * cost no more CPU (+0.7 %, within noise) and kept both workers' heaps at 100 MiB on varied
 * frames, where with 2 MiB one of them stepped to 120 MiB.
 */
const LAYER_BAND_BYTES = 1024 * 1024;

/**
 * Makes the Tiny face detector free each tensor as soon as the next step has read it, and run its
 * large early layers over bands of rows. face-api runs the whole network inside one `tf.tidy`,
 * which holds every layer's output until the end: on the WASM backend that working set stays in
 * the worker's WebAssembly memory, which never shrinks. These are face-api's own operations, in its
 * order, on its weights, so detections are bit-identical (test/integration/faceEngine.test.ts);
 * only the freeing and the banding differ. Measured in one worker alternating 416 px detections
 * with descriptors (recognitionNetForward.ts doing the same for its net): the heap settles at
 * 100 MiB instead of 207 MiB, and a frame costs about 9 % less CPU.
 */
export function freeDetectorLayersEarly(faceapi: FaceApiModule, tf: Tf): void {
  const net = faceapi.nets.tinyFaceDetector as unknown as TinyDetectorNet;
  if (typeof net.forwardInput !== 'function' || !net.config?.withSeparableConvs) {
    throw new Error('face-api TinyFaceDetector is not the separable-convolution network with a forwardInput: the pinned @vladmandic/face-api version changed; check src/vision/tinyDetectorForward.ts');
  }
  const leaky = (x: Tensor4D): Tensor4D => {
    // face-api's leaky ReLU: relu(x − 0.1·x) + 0.1·x, with its float32 constant.
    const tenth = tf.mul(x, tf.scalar(0.10000000149011612)) as Tensor4D;
    const rectified = consume(consume(x, (t) => tf.sub(t, tenth)), (t) => tf.relu(t));
    const out = consume(rectified, (t) => tf.add(t, tenth) as Tensor4D);
    tenth.dispose();
    return out;
  };
  const conv = (x: Tensor4D, p: ConvParams): Tensor4D => consume(consume(x, (t) => tf.conv2d(t, p.filters, [1, 1], 'valid')), (t) => tf.add(t, p.bias) as Tensor4D);
  const separable = (x: Tensor4D, p: SeparableConvParams): Tensor4D => {
    const convolved = consume(x, (t) => tf.separableConv2d(t, p.depthwise_filter, p.pointwise_filter, [1, 1], 'valid'));
    return leaky(consume(convolved, (t) => tf.add(t, p.bias) as Tensor4D));
  };
  const padded = (x: Tensor4D): Tensor4D => consume(x, (t) => tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]));
  const pool = (x: Tensor4D, stride: number): Tensor4D => consume(x, (t) => tf.maxPool(t, [2, 2], [stride, stride], 'same'));
  /**
   * A 3×3 'valid' layer and the 2×2 stride-2 pool after it, over bands of output rows, so only a
   * band of the layer's full-resolution output exists at a time. Each band but the last has an
   * even number of rows, so no pool window straddles two bands, and the last holds the bottom
   * edge where 'same' pads: the pooled rows are those of the whole layer.
   */
  const layerThenPoolInBands = (x: Tensor4D, outChannels: number, layer: (band: Tensor4D) => Tensor4D): Tensor4D => {
    const [, height, width] = x.shape;
    const outRows = height - 2;
    const rowBytes = Math.max(1, width - 2) * outChannels * Float32Array.BYTES_PER_ELEMENT;
    const bandRows = Math.max(2, 2 * Math.floor(LAYER_BAND_BYTES / rowBytes / 2));
    if (outRows <= bandRows || x.shape[0] !== 1) return pool(layer(x), 2);
    // The bands are cut from one copy of x in JavaScript memory, taken once per layer: tf.slice on
    // the WASM backend first copies the whole of its input out of WebAssembly, for every band, and
    // that garbage cost 10–20 % more CPU per frame in collections. With x copied, its WebAssembly
    // memory is free for the bands. Batch 1 (face-api detects one image at a time) keeps each
    // band's rows contiguous.
    const values = x.dataSync() as Float32Array;
    const [, , , channels] = x.shape;
    x.dispose();
    const rowLength = width * channels;
    const pooled: Tensor4D[] = [];
    for (let top = 0; top < outRows; top += bandRows) {
      const rows = Math.min(bandRows, outRows - top) + 2;
      const band = tf.tensor4d(values.subarray(top * rowLength, (top + rows) * rowLength), [1, rows, width, channels]);
      pooled.push(pool(layer(band), 2));
    }
    const out = tf.concat(pooled, 1);
    for (const band of pooled) band.dispose();
    return out;
  };
  const mobilenet = (input: Tensor4D, params: TinyDetectorParams): Tensor4D => {
    const conv0 = params.conv0;
    let x =
      'filters' in conv0
        ? layerThenPoolInBands(input, conv0.filters.shape[3], (band) => leaky(conv(band, conv0)))
        : layerThenPoolInBands(padded(input), conv0.pointwise_filter.shape[3], (band) => separable(band, conv0));
    for (const p of [params.conv1, params.conv2, params.conv3, params.conv4]) {
      x = layerThenPoolInBands(padded(x), p.pointwise_filter.shape[3], (band) => separable(band, p));
    }
    x = pool(separable(padded(x), params.conv5), 1);
    if (params.conv6) x = separable(padded(x), params.conv6);
    if (params.conv7) x = separable(padded(x), params.conv7);
    return conv(x, params.conv8);
  };
  net.forwardInput = (input, inputSize) => {
    const params = net.params;
    if (!params) throw new Error('TinyYolov2 - load model before inference');
    // The tidy only catches what the steps above create and do not hand over.
    return tf.tidy(() => mobilenet(preparedInput(tf, input.toBatchTensor(inputSize, false), net.config.meanRgb), params));
  };
}
