// Elementwise kernels over flat float32 arrays in the shared heap (pointers are byte offsets).
// Specification: src/backend/reference/elementwise.ts.

// BinaryOp codes, as in the reference.
const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;

export function fill(n: i32, value: f32, out: usize): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), value);
}

export function copy(n: i32, src: usize, dst: usize): void {
  memory.copy(dst, src, <usize>n << 2);
}

// `op` is a compile-time constant at every call site, so after inlining the switch folds away.
@inline function binaryVector(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  return f32x4.div(x, y);
}

@inline function binaryScalar(op: i32, x: f32, y: f32): f32 {
  if (op == ADD) return x + y;
  if (op == SUB) return x - y;
  if (op == MUL) return x * y;
  return x / y;
}

/** out[k] = a[k·aStep] op b[k·bStep] for k < n, with aStep, bStep ∈ {0, 1} (0 broadcasts one value). */
@inline function binaryRow(op: i32, n: i32, a: usize, aStep: i32, b: usize, bStep: i32, out: usize): void {
  let i = 0;
  if (aStep == 1 && bStep == 1) {
    for (; i + 8 <= n; i += 8) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVector(op, v128.load(a + o), v128.load(b + o)));
      v128.store(out + o, binaryVector(op, v128.load(a + o, 16), v128.load(b + o, 16)), 16);
    }
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVector(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (aStep == 1 && bStep == 0) {
    const y = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVector(op, v128.load(a + o), y));
    }
  } else if (aStep == 0 && bStep == 1) {
    const x = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVector(op, x, v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    store<f32>(out + (<usize>i << 2), binaryScalar(op, load<f32>(a + (<usize>(i * aStep) << 2)), load<f32>(b + (<usize>(i * bStep) << 2))));
  }
}

export function add(n: i32, a: usize, b: usize, out: usize): void {
  binaryRow(ADD, n, a, 1, b, 1, out);
}

export function sub(n: i32, a: usize, b: usize, out: usize): void {
  binaryRow(SUB, n, a, 1, b, 1, out);
}

export function mul(n: i32, a: usize, b: usize, out: usize): void {
  binaryRow(MUL, n, a, 1, b, 1, out);
}

export function div(n: i32, a: usize, b: usize, out: usize): void {
  binaryRow(DIV, n, a, 1, b, 1, out);
}

export function axpy(n: i32, alpha: f32, x: usize, y: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

export function scale(n: i32, alpha: f32, x: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(va, v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, alpha * load<f32>(x + o));
  }
}

export function affine(n: i32, alpha: f32, beta: f32, x: usize, out: usize): void {
  const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(va, v128.load(x + o)), vb));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, alpha * load<f32>(x + o) + beta);
  }
}

// The (d0, d1) loop around binaryRow for one op; strides are in elements.
@inline function binaryRows(
  op: i32, d0: i32, d1: i32, d2: i32,
  a: usize, as0: i32, as1: i32, as2: i32,
  b: usize, bs0: i32, bs1: i32, bs2: i32,
  out: usize,
): void {
  let o = out;
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      const rowA = a + (<usize>(i * as0 + j * as1) << 2);
      const rowB = b + (<usize>(i * bs0 + j * bs1) << 2);
      if ((as2 == 0 || as2 == 1) && (bs2 == 0 || bs2 == 1)) {
        binaryRow(op, d2, rowA, as2, rowB, bs2, o);
      } else {
        for (let k = 0; k < d2; k++) {
          store<f32>(o + (<usize>k << 2), binaryScalar(op, load<f32>(rowA + (<usize>(k * as2) << 2)), load<f32>(rowB + (<usize>(k * bs2) << 2))));
        }
      }
      o += <usize>d2 << 2;
    }
  }
}

export function binaryBroadcast(
  op: i32, d0: i32, d1: i32, d2: i32,
  a: usize, as0: i32, as1: i32, as2: i32,
  b: usize, bs0: i32, bs1: i32, bs2: i32,
  out: usize,
): void {
  if (op == ADD) binaryRows(ADD, d0, d1, d2, a, as0, as1, as2, b, bs0, bs1, bs2, out);
  else if (op == SUB) binaryRows(SUB, d0, d1, d2, a, as0, as1, as2, b, bs0, bs1, bs2, out);
  else if (op == MUL) binaryRows(MUL, d0, d1, d2, a, as0, as1, as2, b, bs0, bs1, bs2, out);
  else binaryRows(DIV, d0, d1, d2, a, as0, as1, as2, b, bs0, bs1, bs2, out);
}
