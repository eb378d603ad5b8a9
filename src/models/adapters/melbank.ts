// Slaney-style mel filter bank (the librosa / Hugging Face "slaney" mel scale with area
// normalisation), as CLAP's feature extractor uses it. ONNX's MelWeightMatrix is HTK-style and
// unnormalised (research note section 8), so the bank is computed here and stored as an
// initializer of the log-mel prefix graph.

/** Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above. */
export function hzToMelSlaney(hz: number): number {
  const linear = hz / (200 / 3);
  if (hz < 1000) return linear;
  return 15 + Math.log(hz / 1000) * (27 / Math.log(6.4));
}

export function melToHzSlaney(mel: number): number {
  if (mel < 15) return mel * (200 / 3);
  return 1000 * Math.exp((mel - 15) * (Math.log(6.4) / 27));
}

/**
 * Triangular filters [fftSize/2 + 1, bands] (row = frequency bin, column = band), row-major in
 * float64, each triangle scaled by 2 / (its width in Hz) so that bands have equal area.
 */
export function slaneyMelBank(opts: {
  sampleRate: number;
  fftSize: number;
  bands: number;
  fMin: number;
  fMax: number;
}): Float64Array {
  const { sampleRate, fftSize, bands, fMin, fMax } = opts;
  const bins = Math.floor(fftSize / 2) + 1;
  const melLo = hzToMelSlaney(fMin);
  const melHi = hzToMelSlaney(fMax);
  // bands + 2 edge frequencies: band j rises from edge j to edge j+1 and falls to edge j+2.
  const edges = Array.from({ length: bands + 2 }, (_, i) =>
    melToHzSlaney(melLo + ((melHi - melLo) * i) / (bands + 1)),
  );
  const bank = new Float64Array(bins * bands);
  for (let k = 0; k < bins; k++) {
    const hz = (k * sampleRate) / 2 / (bins - 1);
    for (let j = 0; j < bands; j++) {
      const rising = (hz - edges[j]) / (edges[j + 1] - edges[j]);
      const falling = (edges[j + 2] - hz) / (edges[j + 2] - edges[j + 1]);
      const weight = Math.max(0, Math.min(rising, falling));
      bank[k * bands + j] = (weight * 2) / (edges[j + 2] - edges[j]);
    }
  }
  return bank;
}
