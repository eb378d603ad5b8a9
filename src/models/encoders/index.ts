// The bundled DSP encoders: graph builders, their manifests, and runners on Segments.
export {
  AUDIO_ENCODER,
  AUDIO_FEATURES,
  AUDIO_LAYOUT,
  buildDspAudioEncoder,
  melCentres,
  melFilterBank,
  type DspAudioOptions,
} from './audio.js';
export {
  VISUAL_ENCODER,
  VISUAL_FEATURES,
  VISUAL_LAYOUT,
  MAP_CHANNELS,
  buildDspVisualEncoder,
  type DspVisualOptions,
} from './visual.js';
export { BUNDLED_MODELS, DSP_VERSION, dspAudioModel, dspVisualModel, type BuiltModel } from './manifests.js';
export {
  EncoderInputError,
  dspAudioEncoder,
  dspVisualEncoder,
  sessionRunner,
  type DspVisualEncoding,
  type RunModel,
} from './run.js';
