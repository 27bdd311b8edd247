/**
 * Sample-quality metrics: two-sample distances for low-dimensional data
 * (MMD, sliced and exact Wasserstein-2, energy distance), and for images a
 * Fréchet distance in the feature space of a fixed random network and the
 * accuracy/confidence of a small classifier trained with nabla.
 */
export { mmd, energyDistance, slicedWasserstein, medianDistance, asPoints, type Points, type MmdOptions, type SlicedOptions } from './sample.js';
export { wasserstein2, linearAssignment } from './wasserstein.js';
