// Window-level audio-visual parsers: HAN/VALOR++ and LINK (see docs/models/link.md).
export * from './config.js';
export * from './model.js';
export { hybridLayer, mmilHeads, type MmilOutputs } from './backbone.js';
export {
  adaptiveInteraction,
  avssTarget,
  dynamicLambda,
  plsim,
  segmentedSimilarityLoss,
  tsam,
} from './link.js';
