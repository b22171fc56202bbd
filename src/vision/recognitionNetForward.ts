import { consume, preparedInput } from './freeingSteps.js';
import type { FaceApiModule, Tf } from './tensorflowBackend.js';

type Tensor1D = import('@tensorflow/tfjs').Tensor1D;
type Tensor2D = import('@tensorflow/tfjs').Tensor2D;
type Tensor4D = import('@tensorflow/tfjs').Tensor4D;
interface ConvLayerParams {
  conv: { filters: Tensor4D; bias: Tensor1D };
  scale: { weights: Tensor1D; biases: Tensor1D };
}
interface ResidualLayerParams {
  conv1: ConvLayerParams;
  conv2: ConvLayerParams;
}
interface RecognitionParams {
  conv32_down: ConvLayerParams;
  conv32_1: ResidualLayerParams;
  conv32_2: ResidualLayerParams;
  conv32_3: ResidualLayerParams;
  conv64_down: ResidualLayerParams;
  conv64_1: ResidualLayerParams;
  conv64_2: ResidualLayerParams;
  conv64_3: ResidualLayerParams;
  conv128_down: ResidualLayerParams;
  conv128_1: ResidualLayerParams;
  conv128_2: ResidualLayerParams;
  conv256_down: ResidualLayerParams;
  conv256_1: ResidualLayerParams;
  conv256_2: ResidualLayerParams;
  conv256_down_out: ResidualLayerParams;
  fc: Tensor2D;
}
/** The parts of face-api's FaceRecognitionNet (1.7.15) that its forward pass reads. */
interface RecognitionNet {
  params?: RecognitionParams;
  forwardInput: (input: { toBatchTensor: (size: number, centred: boolean) => Tensor4D }) => Tensor2D;
}

/** The side of the square face the network reads, and the mean colour face-api subtracts from it. */
const INPUT_PX = 150;
const MEAN_RGB = [122.782, 117.001, 104.298] as const;

/**
 * Makes the recognition net (a ResNet-34 of 29 convolutions) free each tensor once the next
 * operation has read it. face-api runs the whole network inside one `tf.tidy`, which holds every
 * intermediate tensor until the descriptor is out; on the WASM backend that working set stays in
 * the worker's WebAssembly memory, which never shrinks. These are face-api's own operations, in
 * its order, on its weights, so descriptors are bit-identical (test/integration/faceEngine.test.ts);
 * only the freeing differs. Tensors above the weights at the peak of one descriptor: 14.4 → 1.6 MB.
 */
export function freeRecognitionLayersEarly(faceapi: FaceApiModule, tf: Tf): void {
  const net = faceapi.nets.faceRecognitionNet as unknown as RecognitionNet;
  if (typeof net.forwardInput !== 'function') {
    throw new Error('face-api FaceRecognitionNet has no forwardInput: the pinned @vladmandic/face-api version changed; check src/vision/recognitionNetForward.ts');
  }
  // face-api's conv layer: convolution, bias, batch-norm scale, then ReLU unless it feeds a residual sum.
  // `freeInput` frees x as soon as the convolution has read it, for callers that need it no more.
  const convLayer = (x: Tensor4D, p: ConvLayerParams, strides: [number, number], withRelu: boolean, pad: 'same' | 'valid', freeInput: boolean): Tensor4D => {
    let y = tf.conv2d(x, p.conv.filters, strides, pad);
    if (freeInput) x.dispose();
    y = consume(y, (t) => tf.add(t, p.conv.bias));
    y = consume(y, (t) => tf.mul(t, p.scale.weights));
    y = consume(y, (t) => tf.add(t, p.scale.biases));
    return withRelu ? consume(y, (t) => tf.relu(t)) : y;
  };
  const convDown = (x: Tensor4D, p: ConvLayerParams, freeInput: boolean): Tensor4D => convLayer(x, p, [2, 2], true, 'valid', freeInput);
  const residual = (x: Tensor4D, p: ResidualLayerParams): Tensor4D => {
    let y = convLayer(x, p.conv1, [1, 1], true, 'same', false);
    y = convLayer(y, p.conv2, [1, 1], false, 'same', true);
    y = consume(y, (t) => tf.add(t, x));
    x.dispose();
    return consume(y, (t) => tf.relu(t));
  };
  // Halves the side and widens the channels: the shortcut is an average pool padded with zero
  // channels, and the convolved branch gets a zero row and column when its side came out odd.
  const residualDown = (x: Tensor4D, p: ResidualLayerParams): Tensor4D => {
    let y = convDown(x, p.conv1, false);
    y = convLayer(y, p.conv2, [1, 1], false, 'same', true);
    let shortcut = tf.avgPool(x, 2, 2, 'valid');
    x.dispose();
    if (shortcut.shape[1] !== y.shape[1] || shortcut.shape[2] !== y.shape[2]) {
      y = consume(y, (t) => tf.concat([t, tf.zeros([t.shape[0], 1, t.shape[2], t.shape[3]])], 1));
      y = consume(y, (t) => tf.concat([t, tf.zeros([t.shape[0], t.shape[1], 1, t.shape[3]])], 2));
    }
    if (shortcut.shape[3] !== y.shape[3]) shortcut = consume(shortcut, (t) => tf.concat([t, tf.zeros(t.shape)], 3));
    y = consume(y, (t) => tf.add(shortcut, t));
    shortcut.dispose();
    return consume(y, (t) => tf.relu(t));
  };
  net.forwardInput = (input) => {
    const p = net.params;
    if (!p) throw new Error('FaceRecognitionNet - load model before inference');
    // The tidy only catches what the steps below create and do not hand over (the zero pads).
    return tf.tidy((): Tensor2D => {
      let x = preparedInput(tf, input.toBatchTensor(INPUT_PX, true), MEAN_RGB);
      x = convDown(x, p.conv32_down, true);
      x = consume(x, (t) => tf.maxPool(t, 3, 2, 'valid'));
      x = residual(x, p.conv32_1);
      x = residual(x, p.conv32_2);
      x = residual(x, p.conv32_3);
      x = residualDown(x, p.conv64_down);
      x = residual(x, p.conv64_1);
      x = residual(x, p.conv64_2);
      x = residual(x, p.conv64_3);
      x = residualDown(x, p.conv128_down);
      x = residual(x, p.conv128_1);
      x = residual(x, p.conv128_2);
      x = residualDown(x, p.conv256_down);
      x = residual(x, p.conv256_1);
      x = residual(x, p.conv256_2);
      x = residualDown(x, p.conv256_down_out);
      const pooled = consume(x, (t) => tf.mean(t, [1, 2]) as Tensor2D);
      const descriptor = tf.matMul(pooled, p.fc) as Tensor2D;
      pooled.dispose();
      return descriptor;
    });
  };
}
