"""Small compiler intrinsics the kernels share: rows of 4 or 8 numbers as one vector, and bit
words of 64 values.

numba compiles loops, and LLVM vectorises a long loop, but it leaves straight-line code over a
short row (8 trust columns of one citizen) as scalar operations, and it cannot prove that two
arrays never overlap. Each intrinsic here emits the vector instruction directly. Every lane is
the same IEEE operation on the same values as the scalar code it replaces, so results are
bit-identical on any x86-64 CPU (LLVM splits a vector wider than the machine's into several).
No intrinsic checks ranges or layouts: the callers do.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def copy_row4(typingctx, dst, i, src, j):
    """``dst[i, :4] = src[j, :4]`` for rows of four contiguous numbers, as one vector load and
    store of their bits (the same bytes). No checks of ranges or layout."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and dst.dtype == src.dtype and isinstance(dst.dtype, types.Number)):
        return None

    def codegen(context, builder, signature, args):
        dst_type, _, src_type, _ = signature.args
        zero = ir.Constant(ir.IntType(64), 0)
        to = cgutils.get_item_pointer(context, builder, dst_type,
                                      context.make_array(dst_type)(context, builder, args[0]),
                                      [args[1], zero], wraparound=False)
        at = cgutils.get_item_pointer(context, builder, src_type,
                                      context.make_array(src_type)(context, builder, args[2]),
                                      [args[3], zero], wraparound=False)
        width = dst_type.dtype.bitwidth
        words = ir.VectorType(ir.IntType(width), 4).as_pointer()
        row = builder.load(builder.bitcast(at, words), align=width // 8)
        builder.store(row, builder.bitcast(to, words), align=width // 8)
        return context.get_dummy_value()

    return types.void(dst, types.intp, src, types.intp), codegen


@intrinsic
def prefetch_row(typingctx, a, i):
    """A hint to fetch row ``i`` of ``a`` into the caches (no effect on any value)."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        zero = ir.Constant(ir.IntType(64), 0)
        at = cgutils.get_item_pointer(context, builder, array_type,
                                      context.make_array(array_type)(context, builder, args[0]),
                                      [args[1]] + [zero] * (array_type.ndim - 1),
                                      wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data
        builder.call(prefetch, [builder.bitcast(at, byte_ptr), ir.Constant(i32, 0),
                                ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(a, types.intp), codegen


@intrinsic
def add_scaled_row8(typingctx, out, at, route, p, v, subtract):
    """``out[at:at + 8] += v * route[p, :8]`` (``-=`` if ``subtract``), all float32: a
    product and a sum per cell, the same operations as cell by cell. With a C-contiguous
    ``route``, one vector of 8 cells: the compiler, not knowing that ``out`` and ``route``
    never overlap, kept a loop's loads and stores in turn, 8 scalar updates per value
    (about 0.35 ns per trust cell of the stress world's update). ``out`` must hold its cells
    one after another (sim.trust's scratch rows do)."""
    f32 = types.float32
    if not (isinstance(out, types.Array) and isinstance(route, types.Array) and out.ndim == 1
            and route.ndim == 2 and out.dtype == route.dtype == v == f32):
        return None  # float32 only, as the update computes

    def codegen(context, builder, signature, args):
        out_t, at_t, route_t, p_t, _, sub_t = signature.args
        out_a = context.make_array(out_t)(context, builder, args[0])
        route_a = context.make_array(route_t)(context, builder, args[2])
        at_i = context.cast(builder, args[1], at_t, types.intp)
        p_i = context.cast(builder, args[3], p_t, types.intp)
        v32 = args[4]
        sub = context.cast(builder, args[5], sub_t, types.boolean)
        dst = cgutils.get_item_pointer(context, builder, out_t, out_a, [at_i], wraparound=False)
        if route_t.layout == "C":
            vec = ir.VectorType(ir.FloatType(), 8)
            src = cgutils.get_item_pointer(context, builder, route_t, route_a,
                                           [p_i, ir.Constant(ir.IntType(64), 0)],
                                           wraparound=False)
            row = builder.load(builder.bitcast(dst, vec.as_pointer()), align=4)
            r = builder.load(builder.bitcast(src, vec.as_pointer()), align=4)
            splat = builder.shuffle_vector(
                builder.insert_element(ir.Constant(vec, ir.Undefined), v32,
                                       ir.Constant(ir.IntType(32), 0)),
                ir.Constant(vec, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), 8),
                                                            [0] * 8))
            term = builder.fmul(splat, r)
            new = builder.select(sub, builder.fsub(row, term), builder.fadd(row, term))
            builder.store(new, builder.bitcast(dst, vec.as_pointer()), align=4)
        else:
            for k in range(8):
                kk = ir.Constant(ir.IntType(64), k)
                cell = builder.gep(dst, [kk])
                src = cgutils.get_item_pointer(context, builder, route_t, route_a, [p_i, kk],
                                               wraparound=False)
                x, term = builder.load(cell), builder.fmul(v32, builder.load(src))
                builder.store(builder.select(sub, builder.fsub(x, term),
                                             builder.fadd(x, term)), cell)
        return context.get_dummy_value()

    return types.void(out, at, route, p, v, subtract), codegen


@intrinsic
def add_row8(typingctx, total, c, x, i):
    """``total[c, k] += x[i, k]`` for k in 0..7: the eight values (float32 widened, or
    float64) added to float64 as one vector of eight: each lane the same IEEE add as one
    column at a time, which numba's compiler would leave as eight scalar adds (it does not
    combine straight-line code into vectors). Rows must be contiguous and ``c`` and ``i`` in
    range: no checks."""
    if not (isinstance(total, types.Array) and total.dtype == types.float64
            and isinstance(x, types.Array) and x.dtype in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        total_type, _, x_type, _ = signature.args
        zero = ir.Constant(ir.IntType(64), 0)
        total_array = context.make_array(total_type)(context, builder, args[0])
        x_array = context.make_array(x_type)(context, builder, args[2])
        total_at = cgutils.get_item_pointer(context, builder, total_type, total_array,
                                            [args[1], zero], wraparound=False)
        x_at = cgutils.get_item_pointer(context, builder, x_type, x_array, [args[3], zero],
                                        wraparound=False)
        doubles = ir.VectorType(ir.DoubleType(), 8)
        total_at = builder.bitcast(total_at, doubles.as_pointer())
        single = x_type.dtype == types.float32
        x_at = builder.bitcast(x_at, ir.VectorType(ir.FloatType() if single else ir.DoubleType(),
                                                   8).as_pointer())
        row = builder.load(x_at, align=4 if single else 8)
        row = builder.fpext(row, doubles) if single else row
        builder.store(builder.fadd(builder.load(total_at, align=8), row), total_at, align=8)
        return context.get_dummy_value()

    return types.void(total, types.intp, x, types.intp), codegen


def _word_of(compare):
    """The codegen of a bit word of 64 flags: bit k set where ``compare`` holds for value
    ``at + k`` of a 1-d array (one vector load and compare; a loop of ``word |= flag << k``
    compiles to a long chain of shifts). ``compare(builder, lanes, operand)`` returns the 64
    flags; the operand, if any, is the third argument, cast to the array's type."""
    def codegen(context, builder, signature, args):
        array_type, at_type = signature.args[:2]
        at_i = context.cast(builder, args[1], at_type, types.intp)
        start = cgutils.get_item_pointer(context, builder, array_type,
                                         context.make_array(array_type)(context, builder,
                                                                        args[0]),
                                         [at_i], wraparound=False)
        element = context.get_value_type(array_type.dtype)
        lanes = ir.VectorType(element, 64)
        values = builder.load(builder.bitcast(start, lanes.as_pointer()),
                              align=array_type.dtype.bitwidth // 8)
        operand = None
        if len(args) > 2:
            one = context.cast(builder, args[2], signature.args[2], array_type.dtype)
            operand = builder.shuffle_vector(
                builder.insert_element(ir.Constant(lanes, ir.Undefined), one,
                                       ir.Constant(ir.IntType(32), 0)),
                ir.Constant(lanes, ir.Undefined),
                ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64))
        return builder.bitcast(compare(builder, values, operand), ir.IntType(64))

    return codegen


def _unsigned_array(a):
    """Whether ``a`` is typed as a 1-d array of unsigned integers."""
    return (isinstance(a, types.Array) and a.ndim == 1 and isinstance(a.dtype, types.Integer)
            and not a.dtype.signed)


@intrinsic
def nonzero_word(typingctx, bits, at):
    """Bit k set where ``bits[at + k]`` (a float32 as its uint32 bits) is not zero of either
    sign, for k in 0..63. The 64 values must be in range."""
    if not (_unsigned_array(bits) and bits.dtype == types.uint32):
        return None

    def compare(builder, values, _):
        lanes = values.type
        magnitude = builder.shl(values, ir.Constant(lanes, [1] * 64))  # the sign shifted out
        return builder.icmp_unsigned("!=", magnitude, ir.Constant(lanes, [0] * 64))

    return types.uint64(bits, at), _word_of(compare)


@intrinsic
def equal_word(typingctx, values, at, value):
    """Bit k set where ``values[at + k] == value`` (integers; ``value`` within the array's
    type), for k in 0..63. The 64 values must be in range."""
    if not (isinstance(values, types.Array) and values.ndim == 1
            and isinstance(values.dtype, types.Integer) and isinstance(value, types.Integer)):
        return None

    def compare(builder, lanes, operand):
        return builder.icmp_unsigned("==", lanes, operand)

    return types.uint64(values, at, value), _word_of(compare)


@intrinsic
def at_most_word(typingctx, values, at, limit):
    """Bit k set where ``values[at + k] <= limit`` (unsigned integers), for k in 0..63. The
    64 values must be in range."""
    if not (_unsigned_array(values) and isinstance(limit, types.Integer)):
        return None

    def compare(builder, lanes, operand):
        return builder.icmp_unsigned("<=", lanes, operand)

    return types.uint64(values, at, limit), _word_of(compare)


@intrinsic
def trailing_zeros(typingctx, word):
    """The index (int64) of the lowest set bit of a uint64 word that is not zero (one
    instruction)."""
    if word != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.intp(word), codegen
