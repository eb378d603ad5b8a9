// Layers for model definitions: see layers.ts (linear, layerNorm, mlp, dropout, embedding,
// conv1x1, pooling, activations) and attention.ts (multi-head attention, masks, FFN, encoder layer).
// Shape ops (concat, reshape, transpose, slice) are Graph methods.

export * from './layers.js';
export * from './attention.js';
