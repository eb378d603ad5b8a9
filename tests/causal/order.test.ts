import { describe, expect, it } from 'vitest';
import { OrderState, type ChooseParents } from '../../src/causal/grasp.js';

/**
 * Parents = a fixed DAG's parents that are allowed (before v in the order); score = minus the
 * number of parents. Enough to check the order mechanics by hand.
 */
function fixedDag(parents: number[][]): ChooseParents {
  return (v, allowed) => {
    const chosen = parents[v].filter(allowed);
    return { parents: chosen, score: -chosen.length };
  };
}

// Variables: x = 0, w = 1, z = 2, y = 3.
const [x, w, z, y] = [0, 1, 2, 3];

describe('OrderState', () => {
  it('assigns parents among predecessors and sums the local scores', () => {
    const state = new OrderState(fixedDag([[], [], [x], [x, z]]), [x, w, z, y]);
    expect(state.parents).toEqual([[], [], [x], [x, z]]);
    expect(state.total).toBe(-3);
    expect(state.exactTotal()).toBe(-3);
    // In the order y, z, x nobody has an allowed parent.
    expect(new OrderState(fixedDag([[], [], [x], [x, z]]), [y, z, x, w]).total).toBe(0);
  });

  it('tucks y and its ancestors between x and y before x, keeping their order (non-singular)', () => {
    // x -> z -> y and x -> y; w unrelated, between x and z.
    const state = new OrderState(fixedDag([[], [], [x], [x, z]]), [x, w, z, y]);
    const singular = state.tuck(0, 3);
    expect(state.order).toEqual([z, y, x, w]);
    expect([...state.position]).toEqual([2, 3, 0, 1]);
    // z, a moved ancestor of y, has x as a parent: more than one edge reverses.
    expect(singular).toBe(false);
    // Only positions 0..3 are re-chosen; with the new order z and y lose x.
    expect(state.update(0, 3)).toBe(2);
    expect(state.parents).toEqual([[], [], [], [z]]);
  });

  it('calls a tuck singular when no moved ancestor has x as a parent', () => {
    // x -> y <- w: tucking x -> y moves w (an ancestor of y) and y before x.
    const state = new OrderState(fixedDag([[], [], [], [x, w]]), [x, z, w, y]);
    expect(state.tuck(0, 3)).toBe(true);
    expect(state.order).toEqual([w, y, x, z]);
  });

  it('detects covered edges', () => {
    // x -> z, x -> y, z -> y: z -> y is covered (Pa(y) = Pa(z) + z); x -> y is not.
    const state = new OrderState(fixedDag([[], [], [x], [x, z]]), [x, w, z, y]);
    expect(state.isCovered(z, y)).toBe(true);
    expect(state.isCovered(x, y)).toBe(false);
    expect(state.isCovered(x, z)).toBe(true);
  });

  it('restores order, parents and scores from a snapshot', () => {
    const state = new OrderState(fixedDag([[], [], [x], [x, z]]), [x, w, z, y]);
    const before = { order: [...state.order], parents: state.parents.map((p) => [...p]), total: state.total };
    const saved = state.snapshot(0, 3);
    state.tuck(0, 3);
    state.update(0, 3);
    state.restore(saved);
    expect(state.order).toEqual(before.order);
    expect([...state.position]).toEqual([0, 1, 2, 3]);
    expect(state.parents).toEqual(before.parents);
    expect(state.total).toBe(before.total);
    expect(state.signature()).toBe(';;0;0,2');
  });
});
