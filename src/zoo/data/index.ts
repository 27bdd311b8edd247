/**
 * Data for the generative models: 2-D toy distributions (with their entropies
 * where known), Gaussian mixtures, and the 8×8 handwritten digits.
 */
export { eightGaussians, checkerboard, twoMoons, swissRoll, circles, pinwheel, spirals, TOY_DATASETS, toyDataset, type ToyDataset, type ToyOptions } from './toy2d.js';
export { sampleGmm, sampleGmmWithLabels, eightGaussiansGmm, checkGmm, type Gmm } from './gmm.js';
export { loadDigits, digitsRaw, sampleBatch, DIGITS_LEVELS, DIGITS_TRAIN, type DigitsOptions } from './digits.js';
