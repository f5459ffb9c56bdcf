"""float32 Box-Muller as torch's two CPU kernels compute it, step by step, in numpy.

torch.randn of 16 or more float32 values turns uniforms into normals in blocks of 16 (see
random.py): for j < 8, u1 = 1 - d[j], u2 = d[j + 8],

    r = sqrt(-2 log u1),  theta = 2 pi u2,  d[j] = r cos theta,  d[j + 8] = r sin theta.

Which log, sin and cos, and how each step is rounded, depends on the build of torch's kernels
that runs, and every rounding shows in the last bit. So this module computes exactly what
each build computes (facts read from torch's and the C library's sources, each step then
checked bit for bit against torch 2.13; tests/test_random.py keeps checking it):

- The AVX2 build (what torch picks on x86 CPUs with AVX2): 8 lanes of float32 arithmetic,
  with the Cephes-style polynomials of ATen's avx_mathfun.h for log and sincos. The compiler
  fuses some multiply-adds into one FMA instruction (one rounding instead of two); which ones
  was found by trying both against torch: each Horner step `y * x + c`, the reduction
  `x - k * (pi/4)` in three parts, the last `y * z` of each polynomial into the add or
  subtract that follows it, and the final `y2 * x + x` of the sine. `avx2_normals` does
  the same float32 operations in the same order, rounding after each (`_fma32` for fused
  ones).
- The plain build (ATEN_CPU_CAPABILITY=default, or a CPU without AVX2): one value at a time
  with the C library's float functions logf, cosf and sinf, theta = 2 pi u2 computed in
  double and rounded to float, and float sqrt and products. `plain_normals` computes glibc's
  logf and sinf/cosf (the versions since glibc 2.28; measured with 2.36) in float64 as glibc
  does, from a 16-entry table and short polynomials, then rounds to float32.

Both were compared with torch for every one of the 2**24 float32 uniforms torch can draw,
fed to torch through crafted generator states: no value differed.
"""

import numpy as np

f32, f64 = np.float32, np.float64


def _fma32(a, b, c):
    """a * b + c rounded once to float32 (what an FMA instruction computes).

    a * b of two float32s is exact in float64 (24 + 24 bits < 53), so the only rounding
    before the last is the float64 sum. Rounding to float64 and then to float32 equals
    rounding once, except when the float64 sum lands exactly halfway between two float32s:
    then the sum's own rounding error (TwoSum) says which way the exact value lies.
    """
    p = np.asarray(a, f64) * np.asarray(b, f64)
    s = p + c
    out = s.astype(f32)
    halfway = (s.view(np.int64) & 0x1FFFFFFF) == 0x10000000  # the 29 bits float32 drops
    if halfway.any():  # rare: about one sum in 2**29
        p, c, s = (np.broadcast_to(v, out.shape)[halfway] for v in (p, c, s))
        bb = s - p
        err = (p - (s - bb)) + (c - bb)  # (p + c) - s, exactly
        # exact value above or below the halfway point: step s off it that way; exactly on
        # it: s itself, which astype rounds half to even as the hardware does
        away = np.nextafter(s, np.where(err > 0, np.inf, -np.inf))
        out[halfway] = np.where(err == 0, s, away).astype(f32)
    return out


# ---- the AVX2 build: avx_mathfun.h's log and sincos in float32 ----------------------------

# log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log x = e log 2 + log1p(m - 1), log1p by a
# degree-9 polynomial p: log1p(t) ~ t - t^2/2 + t^3 p(t); log 2 = Q2 + Q1 split in two so that
# e * Q2 is exact (Q2 has 9 bits).
_LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
          3.3333331174e-1]
_LOG_Q1, _LOG_Q2 = -2.12194440e-4, 0.693359375
_SQRT_HALF = 0.707106781186547524


def _c(v):
    """A constant as the float32 the C code stores, held as an exact Python float."""
    return float(f32(v))


def avx2_log(x):
    """log of float32 x in (0, 1], as ATen's log256_ps computes it."""
    bits = x.view(np.int32)
    # the exponent and the mantissa as a float in [0.5, 1): x = m 2^(e), e one more than
    # the IEEE exponent because m is taken in [0.5, 1)
    e = ((bits >> 23) - 127).astype(f32) + f32(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(f32)
    below = m < f32(_SQRT_HALF)  # then use 2m (in [1, sqrt 2)) and e - 1
    t = (m - f32(1)) + np.where(below, m, f32(0))  # m - 1 or 2m - 1, both exact
    e = e - below.astype(f32)
    z = t * t
    y = np.full_like(t, _c(_LOG_P[0]))
    for p in _LOG_P[1:]:
        y = _fma32(y, t, _c(p))  # Horner, fused
    y = y * t
    y = _fma32(y, z, e * f32(_LOG_Q1))  # y t^3 + e Q1, the product by z fused
    y = y - z * f32(0.5)
    return (t + y) + e * f32(_LOG_Q2)  # e * Q2 is exact, fused or not


# sincos: j = the multiple of pi/4 nearest above |x| rounded to even, x - j pi/4 in three
# parts (DP1 + DP2 + DP3 = pi/4, the first two short so their products are exact), then a
# cos polynomial and a sin polynomial on [-pi/4, pi/4]; j picks which one is sin and the signs.
_DP = [-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8]
_COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2]
_SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]
_FOUR_OVER_PI = 1.27323954473516


def avx2_sincos(x):
    """(sin x, cos x) of float32 x >= 0, as ATen's sincos256_ps computes them."""
    j = (x * f32(_FOUR_OVER_PI)).astype(np.int32)  # truncation, as cvttps
    j = (j + 1) & ~1
    y = j.astype(f32)
    for dp in _DP:
        x = _fma32(y, _c(dp), x)
    sin_negative = (j & 4) != 0
    cos_negative = ((j - 2) & 4) == 0
    sin_is_sin_poly = (j & 2) == 0
    z = x * x
    c = _fma32(_c(_COS_P[0]), z, _c(_COS_P[1]))
    c = _fma32(c, z, _c(_COS_P[2]))
    c = c * z
    c = _fma32(c, z, -(z * f32(0.5))) + f32(1)  # 1 - z/2 + z^2 q(z)
    s = _fma32(_c(_SIN_P[0]), z, _c(_SIN_P[1]))
    s = _fma32(s, z, _c(_SIN_P[2]))
    s = s * z
    s = _fma32(s, x, x)  # x + x^3 q(z)
    sin = np.where(sin_is_sin_poly, s, c)
    cos = np.where(sin_is_sin_poly, c, s)
    return np.where(sin_negative, -sin, sin), np.where(cos_negative, -cos, cos)


def avx2_normals(u1, u2):
    """r cos theta and r sin theta for float32 arrays u1 = 1 - d[j], u2 = d[j + 8]."""
    r = np.sqrt(f32(-2) * avx2_log(u1))
    sin, cos = avx2_sincos(f32(2 * np.pi) * u2)  # 2 pi rounded to float32, then the product
    # the kernel ends with mean + std * value as an FMA: with 0 and 1 only -0.0 changes
    return r * cos + f32(0), r * sin + f32(0)


# ---- the plain build: glibc's logf, sinf and cosf, computed in double ----------------------

# logf: x = 2^k z with z in [0x3f330000, 2 * that) as floats (about [0.7, 1.4)); 16 subranges
# of z, each with c near its middle: log x = k ln2 + log c + log1p(z / c - 1), the table
# holding 1/c and log c, log1p(r) ~ r + A2 r^2 + A1 r^3 + A0 r^4.
_LOGF_INVC = [float.fromhex(h) for h in (
    "0x1.661ec79f8f3bep+0 0x1.571ed4aaf883dp+0 0x1.49539f0f010bp+0 0x1.3c995b0b80385p+0 "
    "0x1.30d190c8864a5p+0 0x1.25e227b0b8eap+0 0x1.1bb4a4a1a343fp+0 0x1.12358f08ae5bap+0 "
    "0x1.0953f419900a7p+0 0x1p+0 0x1.e608cfd9a47acp-1 0x1.ca4b31f026aap-1 "
    "0x1.b2036576afce6p-1 0x1.9c2d163a1aa2dp-1 0x1.886e6037841edp-1 0x1.767dcf5534862p-1"
).split()]
_LOGF_LOGC = [float.fromhex(h) for h in (
    "-0x1.57bf7808caadep-2 -0x1.2bef0a7c06ddbp-2 -0x1.01eae7f513a67p-2 -0x1.b31d8a68224e9p-3 "
    "-0x1.6574f0ac07758p-3 -0x1.1aa2bc79c81p-3 -0x1.a4e76ce8c0e5ep-4 -0x1.1973c5a611cccp-4 "
    "-0x1.252f438e10c1ep-5 0x0p+0 0x1.aa5aa5df25984p-5 0x1.c5e53aa362eb4p-4 "
    "0x1.526e57720db08p-3 0x1.bc2860d22477p-3 0x1.1058bc8a07ee1p-2 0x1.4043057b6ee09p-2"
).split()]
_LOGF_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_LOGF_A = [float.fromhex(h) for h in "-0x1.00ea348b88334p-2 0x1.5575b0be00b6ap-2 "
           "-0x1.ffffef20a4123p-2".split()]
_OFF = 0x3F330000


def glibc_logf(x):
    """logf of float32 x in (0, 1] (normal numbers), as glibc computes it."""
    ix = x.view(np.uint32).astype(np.int64)
    tmp = ix - _OFF
    i = (tmp >> 19) & 15  # the subrange: the top 4 mantissa bits past OFF
    k = tmp >> 23  # the power of two (negative for x < OFF)
    z = (ix - (tmp & (0x1FF << 23))).astype(np.uint32).view(f32).astype(f64)
    r = z * np.take(_LOGF_INVC, i) - 1
    y0 = np.take(_LOGF_LOGC, i) + k * _LOGF_LN2
    r2 = r * r
    y = _LOGF_A[1] * r + _LOGF_A[2]
    y = _LOGF_A[0] * r2 + y
    y = y * r2 + (y0 + r)
    return np.where(ix == 0x3F800000, 0.0, y).astype(f32)  # log 1 = +0 exactly


# sinf/cosf for |x| < 120: n = the nearest multiple of pi/2, x - n pi/2 in double, then a
# sin polynomial (x + S1 x^3 + x^5 (S2 + S3 x^2)) or a cos polynomial (C0 + C1 x^2 + C2 x^4 +
# x^6 (C3 + C4 x^2)), the quadrant n picking which and the sign.
_HPI_INV = float.fromhex("0x1.45F306DC9C883p+23")  # 2/pi scaled by 2^24 (quadrant in bit 24)
_HPI = float.fromhex("0x1.921FB54442D18p0")
_COSF = [float.fromhex(h) for h in "0x1p0 -0x1.ffffffd0c621cp-2 0x1.55553e1068f19p-5 "
         "-0x1.6c087e89a359dp-10 0x1.99343027bf8c3p-16".split()]
_SINF = [float.fromhex(h) for h in "-0x1.555545995a603p-3 0x1.1107605230bc4p-7 "
         "-0x1.994eb3774cf24p-13".split()]


def glibc_sincosf(y):
    """(sinf y, cosf y) of float32 y in [0, 120), as glibc computes them."""
    x = y.astype(f64)
    top = (y.view(np.uint32) >> 20) & 0x7FF  # exponent and 3 mantissa bits
    small = top < 0x3F4  # y < 0.75 (glibc's quick test for |y| < pi/4): no reduction
    n = np.where(small, 0, (((x * _HPI_INV).astype(np.int32) + 0x800000) >> 24))
    x = np.where(small, x, x - n * _HPI)
    sign = np.where((n & 3) == 1, -1.0, 1.0) * np.where((n & 3) == 2, -1.0, 1.0)
    xs, x2 = x * sign, x * x
    x3 = xs * x2
    s = (xs + x3 * _SINF[0]) + (x3 * x2) * (_SINF[1] + x2 * _SINF[2])
    flip = np.where((n & 2) != 0, -1.0, 1.0)  # quadrants 2, 3 use the negated cos polynomial
    x4 = x2 * x2
    c = flip * (_COSF[0] + x2 * _COSF[1]) + x4 * (flip * _COSF[2]) + (x4 * x2) * (
        flip * _COSF[3] + x2 * (flip * _COSF[4]))
    odd = (n & 1) == 1
    sin, cos = np.where(odd, c, s), np.where(odd, s, c)
    tiny = top < 0x398  # y < 2^-12: sin y = y, cos y = 1
    return np.where(tiny, x, sin).astype(f32), np.where(tiny, 1.0, cos).astype(f32)


def plain_normals(u1, u2):
    """r cos theta and r sin theta for float32 u1, u2, as torch's plain kernel computes."""
    r = np.sqrt(f32(-2) * glibc_logf(u1))
    theta = (2 * np.pi * u2.astype(f64)).astype(f32)  # 2.0f * pi<double> * u2, in double
    sin, cos = glibc_sincosf(theta)
    return r * cos, r * sin
