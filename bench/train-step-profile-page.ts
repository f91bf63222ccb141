// Times each kernel of one training step of the default model (batch 64),
// each op alone, queue drained: where does a step's time go on this adapter?
import { createRuntime, conv2d, conv2dBackwardInput, conv2dBackwardWeight, channelSum, maxPool2d, unpool2d, matmul, dense, denseBackwardInput, softmaxCrossEntropy, activationBackward, type Recorder, type Tensor } from '../src/index.js';

export async function main(a: { batch: number; repeats: number }) {
  const rt = await createRuntime();
  const N = a.batch;
  const t = (shape: number[]) => rt.createTensor(shape, new Float32Array(shape.reduce((x, y) => x * y)).map(() => Math.random() - 0.5));
  const x = t([N, 1, 28, 28]), w1 = t([16, 1, 5, 5]), b1 = t([16]);
  const h1 = t([N, 16, 28, 28]), p1 = t([N, 16, 13, 13]), w2 = t([32, 16, 3, 3]), b2 = t([32]);
  const h2 = t([N, 32, 13, 13]), p2 = t([N, 32, 6, 6]), w3 = t([64, 1152]), b3 = t([64]), h3 = t([N, 64]), w4 = t([10, 64]), b4 = t([10]);
  const logits = t([N, 10]);
  const labels = rt.createTensor([N], new Uint32Array(N), 'u32');
  const stats = t([2]);
  const sw1 = rt.createTensor([N, 16, 13, 13], new Uint32Array(N * 16 * 169), 'u32');
  const cases: Array<[string, (rec: Recorder) => Tensor | void]> = [
    ['conv1 forward 1->16 5x5 28x28', (r) => conv2d(r, x, w1, b1, { padding: 'same', activation: 'relu' })],
    ['pool1 forward', (r) => maxPool2d(r, h1, { kernel: 3, stride: 2 }).output],
    ['conv2 forward 16->32 3x3 13x13', (r) => conv2d(r, p1, w2, b2, { padding: 'same', activation: 'relu' })],
    ['fc1 forward', (r) => dense(r, p2.reshape([N, 1152]), w3, b3, { activation: 'relu' })],
    ['fc2 forward', (r) => dense(r, h3, w4, b4)],
    ['cross-entropy', (r) => softmaxCrossEntropy(r, logits, labels, stats, 1 / N)],
    ['fc2 dW', (r) => matmul(r, logits, h3, null, { transposeA: true })],
    ['fc1 dW', (r) => matmul(r, h3, p2.reshape([N, 1152]), null, { transposeA: true })],
    ['fc1 dX', (r) => denseBackwardInput(r, h3, w3)],
    ['relu backward conv2', (r) => activationBackward(r, h2, h2, { kind: 'relu' }, 'gradient')],
    ['unpool2', (r) => unpool2d(r, p2, rt.createTensor([N, 32, 6, 6], new Uint32Array(N * 32 * 36), 'u32'), [N, 32, 13, 13], { kernel: 3, stride: 2 })],
    ['conv2 dW', (r) => conv2dBackwardWeight(r, p1, h2, [32, 16, 3, 3], { padding: 'same' })],
    ['conv2 db', (r) => channelSum(r, h2)],
    ['conv2 dX', (r) => conv2dBackwardInput(r, h2, w2, [N, 16, 13, 13], { padding: 'same' })],
    ['unpool1', (r) => unpool2d(r, p1, sw1, [N, 16, 28, 28], { kernel: 3, stride: 2 })],
    ['conv1 dW', (r) => conv2dBackwardWeight(r, x, h1, [16, 1, 5, 5], { padding: 'same' })],
    ['conv1 db', (r) => channelSum(r, h1)],
  ];
  let total = 0;
  for (const [name, fn] of cases) {
    const times: number[] = [];
    for (let i = 0; i <= a.repeats; i++) {
      const start = performance.now();
      const out = await rt.run(name, fn);
      await rt.device.queue.onSubmittedWorkDone();
      if (i > 0) times.push(performance.now() - start);
      if (out) out.release();
    }
    times.sort((p, q) => p - q);
    const median = times[Math.floor(times.length / 2)]!;
    total += median;
    console.log(`${name.padEnd(34)} ${median.toFixed(1).padStart(8)} ms`);
  }
  console.log(`${'sum'.padEnd(34)} ${total.toFixed(1).padStart(8)} ms`);
  rt.destroy();
}
