/**
 * The KServe v2 (Open Inference Protocol) messages the Triton encoder uses, as plain types so
 * that only the gRPC adapter knows about grpc-js. Only the unary calls shared by Triton,
 * KServe and MLServer are modelled.
 */

export type KserveDatatype = 'FP32' | 'INT64';

export interface KserveTensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 marks a variable dimension (the batch dimension, or a sequence length). */
  readonly shape: readonly number[];
}

export interface KserveModelMetadata {
  readonly name: string;
  /** Versions the server has ready, as strings ("1", "2"). */
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly KserveTensorMetadata[];
  readonly outputs: readonly KserveTensorMetadata[];
}

export interface KserveInferInput {
  readonly name: string;
  readonly datatype: KserveDatatype;
  readonly shape: readonly number[];
  /** Little-endian row-major tensor bytes (sent in `raw_input_contents`). */
  readonly data: Buffer;
}

export interface KserveInferRequest {
  readonly modelName: string;
  /** Empty: the server's default version policy picks. */
  readonly modelVersion: string;
  readonly id: string;
  readonly inputs: readonly KserveInferInput[];
  readonly outputs: readonly string[];
}

export interface KserveInferOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  /** Little-endian bytes from `raw_output_contents`, when the server sent raw contents. */
  readonly raw?: Buffer;
  /** Typed `contents.fp32_contents`, when the server sent typed contents instead. */
  readonly fp32?: readonly number[];
}

export interface KserveInferResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputs: readonly KserveInferOutput[];
}

/**
 * How a call failed, as far as failover cares:
 * - `unavailable`: could not reach the server, or it went away (try another endpoint);
 * - `deadline`: no answer in time (try another endpoint: this one is stuck or overloaded);
 * - `not-found`: the server does not have the model or version (another endpoint may);
 * - `rejected`: the server refused the request itself (invalid shape, too large a batch):
 *   every endpoint would refuse it, so failing over is pointless;
 * - `server`: the server failed while running it (backend crash, internal error).
 */
export type KserveFailureKind = 'unavailable' | 'deadline' | 'not-found' | 'rejected' | 'server';

export class KserveCallError extends Error {
  constructor(
    readonly kind: KserveFailureKind,
    readonly address: string,
    readonly method: string,
    message: string,
  ) {
    super(message);
    this.name = 'KserveCallError';
  }
}

/** One KServe v2 server, as the endpoint pool and the encoder see it. */
export interface KserveEndpoint {
  readonly address: string;
  serverReady(timeoutMs: number): Promise<boolean>;
  modelReady(name: string, version: string, timeoutMs: number): Promise<boolean>;
  modelMetadata(name: string, version: string, timeoutMs: number): Promise<KserveModelMetadata>;
  modelInfer(request: KserveInferRequest, timeoutMs: number): Promise<KserveInferResponse>;
  close(): void;
}
