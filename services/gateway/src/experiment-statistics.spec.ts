import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bradleyTerry, ranks, wilsonInterval, type PairVote } from './experiment-statistics';

const votes = (a: number, b: number, aWins: number, bWins: number, bothBad = 0): PairVote[] => [
  ...Array.from({ length: aWins }, () => ({ a, b, winner: a })),
  ...Array.from({ length: bWins }, () => ({ a, b, winner: b })),
  ...Array.from({ length: bothBad }, () => ({ a, b })),
];

describe('wilsonInterval', () => {
  it('matches the interval computed by hand for 7 wins in 10', () => {
    // p = 0.7, z = 1.959964, z² = 3.841459, n = 10
    // denominator = 1 + 3.841459/10 = 1.3841459
    // centre      = 0.7 + 3.841459/20 = 0.8920729
    // half        = 1.959964 × √(0.7×0.3/10 + 3.841459/400) = 1.959964 × √(0.021 + 0.0096036) = 1.959964 × 0.1749389 = 0.3428740
    // low  = (0.8920729 − 0.3428740) / 1.3841459 = 0.3967781
    // high = (0.8920729 + 0.3428740) / 1.3841459 = 0.8922087
    const ci = wilsonInterval(7, 10)!;
    assert.ok(Math.abs(ci.low - 0.3967781) < 1e-6, String(ci.low));
    assert.ok(Math.abs(ci.high - 0.8922087) < 1e-6, String(ci.high));
  });

  it('is [0, z²/(n+z²)] for no wins and symmetric around 1/2 for half the wins; none for no trials', () => {
    // 0 of 5: centre = z²/10 = 0.3841459, half = z × √(z²/100) = z²/10 → low 0, high = 0.7682918 / 1.7682918 = 0.4344825
    const zero = wilsonInterval(0, 5)!;
    assert.equal(zero.low, 0);
    assert.ok(Math.abs(zero.high - 0.4344825) < 1e-6, String(zero.high));
    const half = wilsonInterval(4, 8)!;
    assert.ok(Math.abs(half.low + half.high - 1) < 1e-12);
    assert.equal(wilsonInterval(0, 0), undefined);
  });
});

describe('bradleyTerry', () => {
  it('gives win shares for two configurations: p_A / (p_A + p_B) = W_A / n', () => {
    // A beat B 3 times, B beat A once: the likelihood p_A³ p_B / (p_A + p_B)⁴ peaks at p_A = 3/4.
    const [a, b] = bradleyTerry(2, votes(0, 1, 3, 1));
    assert.ok(Math.abs(a! - 0.75) < 1e-9 && Math.abs(b! - 0.25) < 1e-9, `${a} ${b}`);
  });

  it('recovers strengths 4 : 2 : 1 from counts that match them exactly', () => {
    // With p = (4, 2, 1)/7 the expected wins are: A vs B (3 games) 3 × 4/6 = 2 : 1; A vs C (5 games)
    // 5 × 4/5 = 4 : 1; B vs C (3 games) 3 × 2/3 = 2 : 1. Observed = expected solves the likelihood
    // equations W_i = Σ_j n_ij p_i / (p_i + p_j), so the maximum-likelihood strengths are 4/7, 2/7, 1/7.
    const strengths = bradleyTerry(3, [...votes(0, 1, 2, 1), ...votes(0, 2, 4, 1), ...votes(1, 2, 2, 1)]);
    [4 / 7, 2 / 7, 1 / 7].forEach((expected, i) => assert.ok(Math.abs(strengths[i]! - expected) < 1e-9, `${i}: ${strengths[i]}`));
    assert.deepEqual(ranks(strengths), [1, 2, 3]);
  });

  it('leaves both-bad votes out and has no strength for a configuration never compared', () => {
    const strengths = bradleyTerry(3, [...votes(0, 1, 1, 1, 5)]);
    assert.ok(Math.abs(strengths[0]! - 0.5) < 1e-12 && Math.abs(strengths[1]! - 0.5) < 1e-12);
    assert.equal(strengths[2], undefined);
    assert.deepEqual(ranks(strengths), [1, 1, undefined]);
  });
});
