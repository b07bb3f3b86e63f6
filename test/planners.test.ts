// finishMix paints the built-in methods' plans without validatePlan (`trusted`): the kernels write
// where a plan says, unchecked. So every plan a built-in planner draws must pass validatePlan.
import fc from 'fast-check';
import { Rng } from '../lib/core';
import { MixPlan, validatePlan } from '../lib/plan';
import { mixupPlan } from '../lib/mixup';
import { cutmixPlan } from '../lib/cutmix';
import { cutoutPlan } from '../lib/cutout';
import { planGrid } from '../lib/ricap';

const shapeArb = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }));
const modeArb = fc.constantFrom('batch' as const, 'pair' as const, 'elem' as const);
const common = { seed: fc.integer(), prob: fc.double({ min: 0, max: 1, noNaN: true }), mode: modeArb, alpha: fc.double({ min: 0.05, max: 4, noNaN: true }) };

function valid(plan: MixPlan, shape: number[]): void {
  expect(plan.shape).toEqual(shape);
  expect(() => validatePlan(plan, 'test')).not.toThrow();
}

describe('the built-in planners draw only valid plans', () => {
  it('mixupPlan', () => {
    fc.assert(fc.property(shapeArb, fc.record(common), (shape, o) => {
      valid(mixupPlan(shape, { ...o, rng: new Rng(o.seed) }), shape);
    }), { numRuns: 300 });
  });

  it('cutmixPlan, with and without true λ and minMax', () => {
    const minMaxArb = fc.option(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })).map(([a, b]) => [Math.min(a, b), Math.max(a, b, 0.01)] as [number, number]));
    fc.assert(fc.property(shapeArb, fc.record(common), fc.boolean(), minMaxArb, (shape, o, trueLambda, minMax) => {
      valid(cutmixPlan(shape, { ...o, rng: new Rng(o.seed), trueLambda, minMax: minMax ?? undefined }), shape);
    }), { numRuns: 300 });
  });

  it('cutoutPlan, every fill', () => {
    const rangeArb = (lo: number, hi: number) => fc.tuple(fc.double({ min: lo, max: hi, noNaN: true }), fc.double({ min: lo, max: hi, noNaN: true })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
    fc.assert(fc.property(shapeArb, fc.record(common), fc.constantFrom('float32' as const, 'int32' as const),
      rangeArb(0.01, 1), rangeArb(0.2, 5), fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
      fc.constantFrom('zero' as const, 'mean' as const, 'random' as const, 7), (shape, o, dtype, scale, ratio, [c0, c1], fill) => {
        const plan = cutoutPlan(shape, dtype, { mode: o.mode, rng: new Rng(o.seed), p: o.prob, scale, ratio, count: [Math.min(c0, c1), Math.max(c0, c1)], fill });
        valid(plan, shape);
      }), { numRuns: 300 });
  });

  it('planGrid, including grids with more cells than pixels', () => {
    fc.assert(fc.property(shapeArb, fc.record(common), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.double({ min: 0.05, max: 4, noNaN: true }),
      (shape, o, rows, cols, beta) => {
        const plan = planGrid(new Rng(o.seed), shape, { rows, cols, beta, mode: o.mode === 'pair' ? 'elem' : o.mode, prob: o.prob });
        valid(plan, shape);
      }), { numRuns: 300 });
  });
});
