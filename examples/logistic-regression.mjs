// NTK features for a linear model from npm: multinomial logistic regression
// (ml-logistic-regression) on NTKSketch features of the UCI digits, next to
// the same model on the raw pixels. Run: node examples/logistic-regression.mjs
// (after `npm ci`); prints one JSON line with both test accuracies.
import { Matrix } from 'ml-matrix';
import LogisticRegression from 'ml-logistic-regression';
import { NTKSketch, loadDigits, splitIndices } from 'ntk-sketch';

const digits = loadDigits(); // 1,797 images of 8 x 8 pixels in [0, 1], labels 0..9
const [testRows, trainRows] = splitIndices(digits.rows, [0.25, 0.75], 1);

/** The rows `idx` of an n x cols matrix, as number[][] for ml-matrix. */
const rowsOf = (data, cols, idx) => Array.from(idx, (r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));

// Depth-2 NTK features of every image (float32, 256 per image).
const sketch = new NTKSketch({ inputDim: digits.cols, depth: 2, features: 256, seed: 1 });
const features = (await sketch.transform({ data: digits.X, shape: [digits.rows, digits.cols] })).data;

function accuracyOf(data, cols) {
  const model = new LogisticRegression({ numSteps: 100, learningRate: 0.1 });
  model.train(new Matrix(rowsOf(data, cols, trainRows)), Matrix.columnVector(Array.from(trainRows, (r) => digits.labels[r])));
  const predicted = model.predict(new Matrix(rowsOf(data, cols, testRows)));
  return predicted.filter((label, i) => label === digits.labels[testRows[i]]).length / testRows.length;
}

console.log(JSON.stringify({
  train: trainRows.length,
  test: testRows.length,
  pixels: accuracyOf(digits.X, digits.cols),
  ntkSketch: accuracyOf(features, sketch.features),
}));
