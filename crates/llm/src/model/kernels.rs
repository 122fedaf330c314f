//! Dot products of f32 rows with rows of GGUF-quantized weights, read in
//! their file format: the weights stay 4.5 or 8.5 bits each in memory and
//! only the activations are f32.
//!
//! Decoding a token reads every weight once, so its speed is set by how many
//! bytes a weight takes and how few instructions turn it into products; the
//! activations are not quantized (that costs this small model its answers,
//! see `load/gguf.rs`), so the sums are the f32 sums of the dequantized
//! weights, in another order.
//!
//! Hand-written because no crate does this: candle's quantized matmul
//! quantizes the activations to 8 bits, and its f32 matmul needs the weights
//! dequantized. The AVX2 path goes through `pulp`, whose runtime check makes
//! the intrinsics safe to call; every other CPU takes the portable loops,
//! which the tests hold the AVX2 path to.

/// Weights per quantization block (GGUF's `QK4_1` and `QK8_0`).
pub(super) const BLOCK: usize = 32;

/// One output per row of `qs` for each row of `xs` (`xs.len() / cols` rows):
/// `out[r * rows + j] = Σ_b d_j,b · (x_r,b · q_j,b) + m_j,b · Σ x_r,b`,
/// with a Q4_1 row's 16 bytes per block (low nibbles are weights 0–15, high
/// nibbles 16–31) and its scales `d` and minimums `m`, one per block.
pub(super) struct Q4_1<'a> {
    pub qs: &'a [u8],
    pub d: &'a [f32],
    pub m: &'a [f32],
}

/// Q8_0 rows: 32 signed bytes per block and one scale `d` per block.
pub(super) struct Q8_0<'a> {
    pub qs: &'a [i8],
    pub d: &'a [f32],
}

/// Fills `out` (`xs.len() / cols` rows of `out.len() / (xs.len() / cols)`
/// outputs) with `x · wᵀ` for Q4_1 weights; `xsums` holds each block's sum
/// of `x`, row after row.
pub(super) fn q4_1(w: &Q4_1<'_>, cols: usize, xs: &[f32], xsums: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = pulp::x86::V3::try_new() {
        return v.vectorize(avx2::Q4_1Rows { v, w, cols, xs, xsums, out });
    }
    portable::q4_1(w, cols, xs, xsums, out)
}

/// Fills `out` like [`q4_1`] for Q8_0 weights.
pub(super) fn q8_0(w: &Q8_0<'_>, cols: usize, xs: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = pulp::x86::V3::try_new() {
        return v.vectorize(avx2::Q8_0Rows { v, w, cols, xs, out });
    }
    portable::q8_0(w, cols, xs, out)
}

/// Every block's sum of `xs` (for the Q4_1 minimums).
pub(super) fn block_sums(xs: &[f32]) -> Vec<f32> {
    xs.chunks_exact(BLOCK).map(|b| b.iter().sum()).collect()
}

mod portable {
    use super::{BLOCK, Q4_1, Q8_0};

    pub(super) fn q4_1(w: &Q4_1<'_>, cols: usize, xs: &[f32], xsums: &[f32], out: &mut [f32]) {
        let blocks = cols / BLOCK;
        let rows = w.d.len() / blocks;
        for (r, (x, xsum)) in xs.chunks_exact(cols).zip(xsums.chunks_exact(blocks)).enumerate() {
            for (j, o) in out[r * rows..][..rows].iter_mut().enumerate() {
                let mut total = 0f32;
                for b in 0..blocks {
                    let k = j * blocks + b;
                    let (qs, xb) = (&w.qs[k * BLOCK / 2..][..BLOCK / 2], &x[b * BLOCK..][..BLOCK]);
                    let dot: f32 = qs
                        .iter()
                        .enumerate()
                        .map(|(i, q)| {
                            xb[i] * f32::from(q & 0x0F) + xb[i + BLOCK / 2] * f32::from(q >> 4)
                        })
                        .sum();
                    total += w.d[k] * dot + w.m[k] * xsum[b];
                }
                *o = total;
            }
        }
    }

    pub(super) fn q8_0(w: &Q8_0<'_>, cols: usize, xs: &[f32], out: &mut [f32]) {
        let blocks = cols / BLOCK;
        let rows = w.d.len() / blocks;
        for (r, x) in xs.chunks_exact(cols).enumerate() {
            for (j, o) in out[r * rows..][..rows].iter_mut().enumerate() {
                let mut total = 0f32;
                for b in 0..blocks {
                    let k = j * blocks + b;
                    let (qs, xb) = (&w.qs[k * BLOCK..][..BLOCK], &x[b * BLOCK..][..BLOCK]);
                    let dot: f32 = qs.iter().zip(xb).map(|(q, x)| x * f32::from(*q)).sum();
                    total += w.d[k] * dot;
                }
                *o = total;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m128i, __m256, __m256i};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::NullaryFnOnce;

    use super::{BLOCK, Q4_1, Q8_0};

    /// The rows as one operation, so that `V3::vectorize` compiles the loops
    /// with AVX2 and FMA enabled (a closure would not be inlined there).
    pub(super) struct Q4_1Rows<'a, 'w> {
        pub v: V3,
        pub w: &'a Q4_1<'w>,
        pub cols: usize,
        pub xs: &'a [f32],
        pub xsums: &'a [f32],
        pub out: &'a mut [f32],
    }

    impl NullaryFnOnce for Q4_1Rows<'_, '_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Q4_1Rows { v, w, cols, xs, xsums, out } = self;
            let blocks = cols / BLOCK;
            let rows = w.d.len() / blocks;
            for (r, (x, xsum)) in xs.chunks_exact(cols).zip(xsums.chunks_exact(blocks)).enumerate()
            {
                for (j, o) in out[r * rows..][..rows].iter_mut().enumerate() {
                    let k = j * blocks;
                    let (d, m) = (&w.d[k..][..blocks], &w.m[k..][..blocks]);
                    *o = q4_1_row(v, x, xsum, &w.qs[k * BLOCK / 2..][..cols / 2], d, m);
                }
            }
        }
    }

    /// Per block: the 16 bytes split into low and high nibbles, widened to
    /// four vectors of eight f32, multiplied into `x` and scaled by `d`; the
    /// minimums add `m · Σx` per block. Two accumulators halve the chain of
    /// dependent additions.
    #[inline(always)]
    fn q4_1_row(v: V3, x: &[f32], xsum: &[f32], qs: &[u8], d: &[f32], m: &[f32]) -> f32 {
        let low = v.sse2._mm_set1_epi8(0x0F);
        let mut acc = [v.avx._mm256_setzero_ps(); 2];
        let mut mins = 0f32;
        let blocks = qs.chunks_exact(BLOCK / 2).zip(x.chunks_exact(BLOCK)).zip(d.iter().zip(m));
        for (b, ((q, xb), (db, mb))) in blocks.enumerate() {
            let Ok(q) = <[u8; BLOCK / 2]>::try_from(q) else { continue };
            let Ok(xb) = <[f32; BLOCK]>::try_from(xb) else { continue };
            let bytes: __m128i = cast(q);
            let xv: [__m256; 4] = cast(xb);
            let lo = v.sse2._mm_and_si128(bytes, low);
            let hi = v.sse2._mm_and_si128(v.sse2._mm_srli_epi16::<4>(bytes), low);
            let widen = |h: __m128i| v.avx._mm256_cvtepi32_ps(v.avx2._mm256_cvtepu8_epi32(h));
            let (w0, w1) = (widen(lo), widen(v.sse2._mm_srli_si128::<8>(lo)));
            let (w2, w3) = (widen(hi), widen(v.sse2._mm_srli_si128::<8>(hi)));
            let p = v.fma._mm256_fmadd_ps(xv[1], w1, v.avx._mm256_mul_ps(xv[0], w0));
            let p = v.fma._mm256_fmadd_ps(xv[2], w2, p);
            let p = v.fma._mm256_fmadd_ps(xv[3], w3, p);
            acc[b % 2] = v.fma._mm256_fmadd_ps(p, v.avx._mm256_set1_ps(*db), acc[b % 2]);
            mins += mb * xsum[b];
        }
        sum(v.avx._mm256_add_ps(acc[0], acc[1])) + mins
    }

    pub(super) struct Q8_0Rows<'a, 'w> {
        pub v: V3,
        pub w: &'a Q8_0<'w>,
        pub cols: usize,
        pub xs: &'a [f32],
        pub out: &'a mut [f32],
    }

    impl NullaryFnOnce for Q8_0Rows<'_, '_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Q8_0Rows { v, w, cols, xs, out } = self;
            let blocks = cols / BLOCK;
            let rows = w.d.len() / blocks;
            for (r, x) in xs.chunks_exact(cols).enumerate() {
                for (j, o) in out[r * rows..][..rows].iter_mut().enumerate() {
                    let k = j * blocks;
                    *o = q8_0_row(v, x, &w.qs[k * BLOCK..][..cols], &w.d[k..][..blocks]);
                }
            }
        }
    }

    /// Per block: 32 signed bytes widened to four vectors of eight f32,
    /// multiplied into `x` and scaled by `d`.
    #[inline(always)]
    fn q8_0_row(v: V3, x: &[f32], qs: &[i8], d: &[f32]) -> f32 {
        let mut acc = [v.avx._mm256_setzero_ps(); 2];
        let blocks = qs.chunks_exact(BLOCK).zip(x.chunks_exact(BLOCK)).zip(d);
        for (b, ((q, xb), db)) in blocks.enumerate() {
            let Ok(q) = <[i8; BLOCK]>::try_from(q) else { continue };
            let Ok(xb) = <[f32; BLOCK]>::try_from(xb) else { continue };
            let bytes: __m256i = cast(q);
            let xv: [__m256; 4] = cast(xb);
            let (h0, h1) =
                (v.avx._mm256_castsi256_si128(bytes), v.avx2._mm256_extracti128_si256::<1>(bytes));
            let widen = |h: __m128i| v.avx._mm256_cvtepi32_ps(v.avx2._mm256_cvtepi8_epi32(h));
            let (w0, w1) = (widen(h0), widen(v.sse2._mm_srli_si128::<8>(h0)));
            let (w2, w3) = (widen(h1), widen(v.sse2._mm_srli_si128::<8>(h1)));
            let p = v.fma._mm256_fmadd_ps(xv[1], w1, v.avx._mm256_mul_ps(xv[0], w0));
            let p = v.fma._mm256_fmadd_ps(xv[2], w2, p);
            let p = v.fma._mm256_fmadd_ps(xv[3], w3, p);
            acc[b % 2] = v.fma._mm256_fmadd_ps(p, v.avx._mm256_set1_ps(*db), acc[b % 2]);
        }
        sum(v.avx._mm256_add_ps(acc[0], acc[1]))
    }

    #[inline(always)]
    fn sum(a: __m256) -> f32 {
        let lanes: [f32; 8] = cast(a);
        lanes.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q4_1 bytes, Q8_0 bytes, scales, minimums and two rows of activations.
    type Case = (Vec<u8>, Vec<i8>, Vec<f32>, Vec<f32>, Vec<f32>);

    /// Weights and activations that exercise every nibble and byte value,
    /// negative scales and minimums, over 3 rows of 4 blocks.
    fn case() -> Case {
        let (rows, cols) = (3, 4 * BLOCK);
        let q4: Vec<u8> = (0..rows * cols / 2).map(|i| (i * 37 % 256) as u8).collect();
        let q8: Vec<i8> = (0..rows * cols).map(|i| (i * 53 % 256) as u8 as i8).collect();
        let d: Vec<f32> = (0..rows * 4).map(|i| 0.01 * (i as f32 - 5.0)).collect();
        let m: Vec<f32> = (0..rows * 4).map(|i| 0.03 * (3.0 - i as f32)).collect();
        let xs: Vec<f32> = (0..2 * cols).map(|i| ((i * 7) as f32).sin()).collect();
        (q4, q8, d, m, xs)
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "output {i}: {x} against {y}");
        }
    }

    /// The reference: the weights dequantized as GGUF defines them
    /// (`d · q + m`, `d · q`), then plain f32 dot products.
    fn reference(dequantized: &[f32], cols: usize, xs: &[f32]) -> Vec<f32> {
        xs.chunks_exact(cols)
            .flat_map(|x| {
                dequantized
                    .chunks_exact(cols)
                    .map(move |w| w.iter().zip(x).map(|(a, b)| a * b).sum())
            })
            .collect()
    }

    #[test]
    fn q4_1_rows_equal_the_dequantized_products_on_every_path() {
        let (q4, _, d, m, xs) = case();
        let cols = 4 * BLOCK;
        let deq: Vec<f32> = (0..3 * cols)
            .map(|i| {
                let (row, col) = (i / cols, i % cols);
                let (b, k) = (col / BLOCK, col % BLOCK);
                let byte = q4[(row * 4 + b) * BLOCK / 2 + k % (BLOCK / 2)];
                let q = if k < BLOCK / 2 { byte & 0x0F } else { byte >> 4 };
                d[row * 4 + b] * f32::from(q) + m[row * 4 + b]
            })
            .collect();
        let want = reference(&deq, cols, &xs);
        let w = Q4_1 { qs: &q4, d: &d, m: &m };
        let sums = block_sums(&xs);
        let mut fast = vec![0f32; 6];
        q4_1(&w, cols, &xs, &sums, &mut fast);
        close(&fast, &want);
        let mut slow = vec![0f32; 6];
        portable::q4_1(&w, cols, &xs, &sums, &mut slow);
        close(&slow, &want);
    }

    #[test]
    fn q8_0_rows_equal_the_dequantized_products_on_every_path() {
        let (_, q8, d, _, xs) = case();
        let cols = 4 * BLOCK;
        let deq: Vec<f32> =
            q8.iter().enumerate().map(|(i, q)| d[i / BLOCK] * f32::from(*q)).collect();
        let want = reference(&deq, cols, &xs);
        let w = Q8_0 { qs: &q8, d: &d };
        let mut fast = vec![0f32; 6];
        q8_0(&w, cols, &xs, &mut fast);
        close(&fast, &want);
        let mut slow = vec![0f32; 6];
        portable::q8_0(&w, cols, &xs, &mut slow);
        close(&slow, &want);
    }
}
