/**
 * Recurrent networks: RNN, LSTM and GRU layers with PyTorch's parameter
 * layout (state dicts move both ways), one fused op per layer and direction
 * for the recurrence and its backpropagation through time, truncated BPTT,
 * and the recurrent token mixers 'lstm', 'gru', 'rnn' (causal, with decoding)
 * and 'bilstm', 'bigru' (bidirectional encoders).
 */
export { RNN, LSTM, GRU, RnnBase, type RnnOptions, type RnnLayerOptions, type RnnForwardOptions, type RnnResult, type RnnConfig } from './rnn.js';
export { rnnScan, rnnScanOp, rnnScanBackwardOp, type RnnScanInputs } from './rnnScan.js';
export { cellStep, rnnScanRef, type CellWeights } from './cells.ref.js';
export { truncatedBptt, type TbpttOptions, type TbpttResult } from './tbptt.js';
export { RnnMixer, BiRnnMixer, lengthsFromPadding, type RnnMixerOptions, type RnnMixerState } from './mixer.js';
export type { RnnMode } from '../../backends/cpu/wasm/rnnLoops.js';
