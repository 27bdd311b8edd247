/**
 * Sample-quality metrics: two-sample distances for low-dimensional data
 * (MMD, sliced and exact Wasserstein-2, energy distance), and for images the
 * accuracy/confidence of a small classifier trained with nabla.
 */
export { mmd, energyDistance, slicedWasserstein, medianDistance, asPoints, type Points, type MmdOptions, type SlicedOptions } from './sample.js';
export { wasserstein2, linearAssignment } from './wasserstein.js';
export { trainClassifier, classifierScore, type Classifier, type ClassifierOptions, type SampleScore } from './classifier.js';
