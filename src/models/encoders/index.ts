// The bundled DSP encoders (graph builders, manifests) and the runners of any Segment encoder
// (the DSP ones and adapted CLIP/CLAP exports), described by specs read from manifests.
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
  segmentAudioEncoder,
  segmentVisualEncoder,
  sessionRunner,
  type DspVisualEncoding,
  type SegmentVisualEncoding,
} from './run.js';
export { EncoderChoiceError, chooseEncoders, segmentEncoders, type ChosenEncoders } from './choose.js';
export {
  DSP_AUDIO_SPEC,
  DSP_VISUAL_SPEC,
  EncoderSpecError,
  audioEncoderSpec,
  ingestFormat,
  visualEncoderSpec,
  type AudioEncoderSpec,
  type IngestFormat,
  type VisualEncoderSpec,
} from './spec.js';
