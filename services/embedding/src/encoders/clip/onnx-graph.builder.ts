import * as protobuf from 'protobufjs';

// The subset of onnx/onnx.proto (IR v8) needed to write an inference graph with embedded
// weights. Field numbers are the upstream ones; everything else is left out.
const ONNX_PROTO_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional AttributeType type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1 [packed = true];
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
`;

/** TensorProto.DataType values used here. */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** Attribute values: plain numbers are INT, `{ f }` is FLOAT, arrays are INTS, strings are STRING. */
export type OnnxAttribute = number | { readonly f: number } | readonly number[] | string;

/** A symbolic dimension ("batch") or a fixed one. */
export type OnnxDim = number | string;

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function encodeAttribute(name: string, value: OnnxAttribute): Record<string, unknown> {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; wrap floats as { f }`);
    return { name, type: 2, i: value };
  }
  if (typeof value === 'string') return { name, type: 3, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  return { name, type: 1, f: (value as { f: number }).f };
}

/**
 * Builds an ONNX inference graph node by node. Names for intermediate values are generated;
 * weights are stored as raw little-endian initializers inside the model file.
 */
export class OnnxGraphBuilder {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A name not used yet (not reserved: the caller claims it). */
  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.graphName}: name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: OnnxDataType, dims: readonly OnnxDim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /** Declares `value` as a graph output under `name` (through an Identity so names stay free). */
  output(name: string, value: string, elemType: OnnxDataType, dims: readonly OnnxDim[]): void {
    this.nodes.push({ op_type: 'Identity', input: [value], output: [this.claim(name)], name: `out_${name}` });
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  float(name: string, dims: readonly number[], data: Float32Array): string {
    return this.tensor(name, OnnxDataType.FLOAT, dims, data);
  }

  int64(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.tensor(
      name,
      OnnxDataType.INT64,
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  int32(name: string, dims: readonly number[], data: Int32Array): string {
    return this.tensor(name, OnnxDataType.INT32, dims, data);
  }

  int8(name: string, dims: readonly number[], data: Int8Array): string {
    return this.tensor(name, OnnxDataType.INT8, dims, data);
  }

  /** A float scalar constant (shape []). */
  scalar(value: number, prefix = 'const'): string {
    return this.float(this.fresh(prefix), [], Float32Array.of(value));
  }

  /** A 1-D int64 constant (shapes, axes, indices). */
  ints(values: readonly number[], prefix = 'ints'): string {
    return this.int64(this.fresh(prefix), [values.length], values);
  }

  private tensor(name: string, dataType: OnnxDataType, dims: readonly number[], data: ArrayBufferView): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const elementBytes = dataType === OnnxDataType.INT64 ? 8 : dataType === OnnxDataType.INT8 || dataType === OnnxDataType.UINT8 ? 1 : 4;
    if (data.byteLength !== count * elementBytes) {
      throw new Error(`ONNX initializer ${name}: ${data.byteLength} bytes for dims [${dims.join(',')}]`);
    }
    this.initializers.push({ name: this.claim(name), dims: [...dims], data_type: dataType, raw_data: bytesOf(data) });
    return name;
  }

  /** Adds one node; returns its output names (`outputs` of them). */
  nodeN(opType: string, inputs: readonly string[], attrs: Record<string, OnnxAttribute> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.claim(this.fresh(opType.toLowerCase())));
    this.nodes.push({
      op_type: opType,
      name: this.claim(this.fresh(`n_${opType}`)),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttribute(k, v)),
    });
    return outs;
  }

  /** Adds one single-output node and returns its output name. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, OnnxAttribute> = {}): string {
    return this.nodeN(opType, inputs, attrs, 1)[0];
  }

  /** Serialises the model (IR 8, default-domain opset `opset`). */
  toBytes(opts: { opset: number; producer: string; docString: string; metadata?: Record<string, string> }): Uint8Array {
    const type = onnxModelType();
    const model = {
      ir_version: 8,
      opset_import: [{ domain: '', version: opts.opset }],
      producer_name: opts.producer,
      producer_version: '1',
      doc_string: opts.docString,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const err = type.verify(model);
    if (err) throw new Error(`ONNX model ${this.graphName} is malformed: ${err}`);
    return type.encode(type.fromObject(model)).finish();
  }
}

function valueInfo(name: string, elemType: OnnxDataType, dims: readonly OnnxDim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}
