/**
 * Just enough of the ONNX model format to give onnxruntime a one-node graph
 * (Gemm or MatMul on float32 inputs), written as protobuf bytes by hand so
 * the benchmark needs no ONNX tooling. Field numbers are onnx.proto3's:
 * ModelProto{ir_version 1, graph 7, opset_import 8}, GraphProto{node 1,
 * name 2, input 11, output 12}, NodeProto{input 1, output 2, op_type 4,
 * attribute 5}, AttributeProto{name 1, i 3, type 20}, ValueInfoProto{name 1,
 * type 2}, TypeProto{tensor_type 1}, Tensor{elem_type 1, shape 2},
 * TensorShapeProto{dim 1}, Dimension{dim_value 1}.
 */

/** A protobuf message under construction: (field, wire type) pairs and their payloads. */
class Msg {
  private readonly parts: number[] = [];

  private varint(v: number): void {
    let x = BigInt(v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.parts.push(b);
    } while (x > 0n);
  }

  int(field: number, v: number): this {
    this.varint((field << 3) | 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array | number[]): this {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Msg): this {
    return this.bytes(field, m.parts);
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1;
const ATTR_INT = 2;

function valueInfo(name: string, shape: readonly number[]): Msg {
  const dims = new Msg();
  for (const d of shape) dims.msg(1, new Msg().int(1, d));
  const tensor = new Msg().int(1, FLOAT).msg(2, dims);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tensor));
}

/** A model computing Y from inputs A, B with one node `op` and integer attributes. */
export function oneNodeModel(op: 'Gemm' | 'MatMul', a: readonly number[], b: readonly number[], y: readonly number[], attrs: Record<string, number> = {}): Uint8Array {
  const node = new Msg().str(1, 'A').str(1, 'B').str(2, 'Y').str(4, op);
  for (const [name, v] of Object.entries(attrs)) node.msg(5, new Msg().str(1, name).int(3, v).int(20, ATTR_INT));
  const graph = new Msg().msg(1, node).str(2, 'bench').msg(11, valueInfo('A', a)).msg(11, valueInfo('B', b)).msg(12, valueInfo('Y', y));
  return new Msg().int(1, 8).str(2, 'nabla-bench').msg(7, graph).msg(8, new Msg().str(1, '').int(2, 13)).toBytes();
}
