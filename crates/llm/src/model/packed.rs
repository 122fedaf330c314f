//! A projection's weights as the GGUF file stores them (Q4_1 or Q8_0
//! blocks), kept beside the f32 copy for decoding: a token reads every
//! weight once, and 4.5 bits are read faster than 32.
//!
//! The f32 copy still serves prompts (many rows, where gemm wins), training
//! and merging; the packed copy holds exactly the values the f32 copy was
//! dequantized from.

use candle_core::quantized::GgmlDType;
use half::f16;
use rayon::prelude::*;

use super::kernels::{self, BLOCK};

/// Output rows per task: enough to amortize the hand-off, small enough to
/// share a 576-row projection between threads.
const ROWS_PER_TASK: usize = 64;

/// The block layouts read natively.
#[derive(Debug)]
enum Blocks {
    Q4_1 { qs: Vec<u8>, d: Vec<f32>, m: Vec<f32> },
    Q8_0 { qs: Vec<i8>, d: Vec<f32> },
}

/// A `[rows, cols]` weight matrix in quantized blocks.
#[derive(Debug)]
pub struct Packed {
    rows: usize,
    cols: usize,
    blocks: Blocks,
}

impl Packed {
    /// Reads GGUF block bytes (`d: f16, m: f16, qs: [u8; 16]` per Q4_1
    /// block, `d: f16, qs: [i8; 32]` per Q8_0 block, row after row); `None`
    /// for other types or when the bytes do not match the shape.
    pub fn from_gguf(dtype: GgmlDType, data: &[u8], rows: usize, cols: usize) -> Option<Packed> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return None;
        }
        let n = rows * cols / BLOCK;
        let half = |b: &[u8], at: usize| f16::from_le_bytes([b[at], b[at + 1]]).to_f32();
        let blocks = match dtype {
            GgmlDType::Q4_1 if data.len() == n * 20 => {
                let (mut qs, mut d, mut m) = (Vec::with_capacity(n * 16), vec![], vec![]);
                for b in data.chunks_exact(20) {
                    d.push(half(b, 0));
                    m.push(half(b, 2));
                    qs.extend_from_slice(&b[4..]);
                }
                Blocks::Q4_1 { qs, d, m }
            }
            GgmlDType::Q8_0 if data.len() == n * 34 => {
                let (mut qs, mut d) = (Vec::with_capacity(n * BLOCK), vec![]);
                for b in data.chunks_exact(34) {
                    d.push(half(b, 0));
                    qs.extend(b[2..].iter().map(|&q| q as i8));
                }
                Blocks::Q8_0 { qs, d }
            }
            _ => return None,
        };
        Some(Packed { rows, cols, blocks })
    }

    /// `[rows, cols]`.
    pub fn dims(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The rows reordered: row `i` of the result is row `from[i]` of `self`
    /// (`from` must be a permutation of `0..rows`).
    pub fn permute_rows(&self, from: &[usize]) -> Packed {
        let per_row = self.cols / BLOCK;
        let pick = |v: &[f32]| -> Vec<f32> {
            from.iter().flat_map(|&r| &v[r * per_row..][..per_row]).copied().collect()
        };
        let blocks = match &self.blocks {
            Blocks::Q4_1 { qs, d, m } => Blocks::Q4_1 {
                qs: from
                    .iter()
                    .flat_map(|&r| &qs[r * self.cols / 2..][..self.cols / 2])
                    .copied()
                    .collect(),
                d: pick(d),
                m: pick(m),
            },
            Blocks::Q8_0 { qs, d } => Blocks::Q8_0 {
                qs: from.iter().flat_map(|&r| &qs[r * self.cols..][..self.cols]).copied().collect(),
                d: pick(d),
            },
        };
        Packed { rows: self.rows, cols: self.cols, blocks }
    }

    /// The f32 values, `rows * cols`, as GGUF dequantizes them.
    #[cfg(test)]
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        match &self.blocks {
            Blocks::Q4_1 { qs, d, m } => {
                for (k, q) in qs.chunks_exact(BLOCK / 2).enumerate() {
                    out.extend(q.iter().map(|b| f32::from(b & 0x0F) * d[k] + m[k]));
                    out.extend(q.iter().map(|b| f32::from(b >> 4) * d[k] + m[k]));
                }
            }
            Blocks::Q8_0 { qs, d } => {
                out.extend(qs.iter().enumerate().map(|(i, q)| f32::from(*q) * d[i / BLOCK]));
            }
        }
        out
    }

    /// `xs · Wᵀ` for `xs` holding whole rows of `cols` values: `[n, rows]`
    /// flattened, split across threads by rows of `W`.
    pub fn project(&self, xs: &[f32]) -> Vec<f32> {
        let n = xs.len() / self.cols;
        let per_row = self.cols / BLOCK;
        let xsums = kernels::block_sums(xs);
        let part = |first: usize, len: usize, out: &mut [f32]| {
            let (b0, b1) = (first * per_row, (first + len) * per_row);
            match &self.blocks {
                Blocks::Q4_1 { qs, d, m } => {
                    let w = kernels::Q4_1 {
                        qs: &qs[b0 * BLOCK / 2..b1 * BLOCK / 2],
                        d: &d[b0..b1],
                        m: &m[b0..b1],
                    };
                    kernels::q4_1(&w, self.cols, xs, &xsums, out);
                }
                Blocks::Q8_0 { qs, d } => {
                    let w = kernels::Q8_0 { qs: &qs[b0 * BLOCK..b1 * BLOCK], d: &d[b0..b1] };
                    kernels::q8_0(&w, self.cols, xs, out);
                }
            }
        };
        let mut out = vec![0f32; n * self.rows];
        if n == 1 {
            out.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(task, chunk)| {
                part(task * ROWS_PER_TASK, chunk.len(), chunk);
            });
            return out;
        }
        // Several rows of `xs`: each task writes its rows' outputs for every
        // row of `xs` as one piece, put in place afterwards.
        let firsts: Vec<usize> = (0..self.rows).step_by(ROWS_PER_TASK).collect();
        let pieces: Vec<Vec<f32>> = firsts
            .par_iter()
            .map(|&first| {
                let mut piece = vec![0f32; n * ROWS_PER_TASK.min(self.rows - first)];
                part(first, piece.len() / n, &mut piece);
                piece
            })
            .collect();
        for (&first, piece) in firsts.iter().zip(&pieces) {
            let len = piece.len() / n;
            for r in 0..n {
                out[r * self.rows + first..][..len].copy_from_slice(&piece[r * len..][..len]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

    use super::*;

    /// candle quantizes a random matrix; the packed copy must dequantize to
    /// candle's values exactly and project like their f32 product.
    fn round_trip(dtype: GgmlDType) {
        let dev = Device::Cpu;
        let (rows, cols) = (150, 3 * BLOCK);
        let w = Tensor::randn(0f32, 1.0, (rows, cols), &dev).unwrap();
        let q = QTensor::quantize(&w, dtype).unwrap();
        let exact = q.dequantize(&dev).unwrap();
        let packed = Packed::from_gguf(dtype, &q.data().unwrap(), rows, cols).unwrap();
        assert_eq!(packed.dims(), (rows, cols));
        assert_eq!(packed.dequantize(), exact.flatten_all().unwrap().to_vec1::<f32>().unwrap());

        let x = Tensor::randn(0f32, 1.0, (2, cols), &dev).unwrap();
        let want = x.matmul(&exact.t().unwrap()).unwrap().flatten_all().unwrap();
        let got = packed.project(&x.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        for (g, w) in got.iter().zip(want.to_vec1::<f32>().unwrap()) {
            assert!((g - w).abs() < 1e-4 * (1.0 + w.abs()), "{g} against {w}");
        }

        let from: Vec<usize> = (0..rows).rev().collect();
        let back = packed.permute_rows(&from).dequantize();
        let ids: Vec<u32> = from.iter().map(|&r| r as u32).collect();
        let flipped = exact.index_select(&Tensor::new(ids, &dev).unwrap(), 0).unwrap();
        assert_eq!(back, flipped.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }

    #[test]
    fn q4_1_blocks_match_candles_dequantization_and_product() {
        round_trip(GgmlDType::Q4_1);
    }

    #[test]
    fn q8_0_blocks_match_candles_dequantization_and_product() {
        round_trip(GgmlDType::Q8_0);
    }

    #[test]
    fn other_types_and_mismatched_sizes_are_not_packed() {
        assert!(Packed::from_gguf(GgmlDType::F32, &[0; 128], 1, 32).is_none());
        assert!(Packed::from_gguf(GgmlDType::Q4_1, &[0; 19], 1, 32).is_none());
        assert!(Packed::from_gguf(GgmlDType::Q8_0, &[0; 34], 1, 33).is_none());
    }
}
