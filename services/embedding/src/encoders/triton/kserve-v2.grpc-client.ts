import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import {
  KserveCallError,
  type KserveEndpoint,
  type KserveFailureKind,
  type KserveInferRequest,
  type KserveInferResponse,
  type KserveModelMetadata,
} from './kserve-v2.types';

/**
 * The KServe v2 gRPC adapter: the only file that imports grpc-js. One instance per endpoint
 * (host:port), plaintext, unary calls only, a deadline on every call.
 */

/** The project's copy of KServe's `grpc_predict_v2.proto`; images must ship `proto/` beside `services/`. */
export function defaultKserveProtoPath(): string {
  // Compiled to services/embedding/dist/encoders/triton/, five levels below the repository root.
  return resolve(__dirname, '../../../../..', 'proto/kserve/grpc_predict_v2.proto');
}

// The raw shapes proto-loader produces with the options below (int64 as strings, bytes as Buffer).
interface RawTensorMetadata {
  name: string;
  datatype: string;
  shape: string[];
}
interface RawModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: RawTensorMetadata[];
  outputs: RawTensorMetadata[];
}
interface RawInferOutput {
  name: string;
  datatype: string;
  shape: string[];
  contents?: { fp32_contents?: number[] } | null;
}
interface RawInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: RawInferOutput[];
  raw_output_contents: Buffer[];
}
interface RawInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string }[];
  raw_input_contents: Buffer[];
}

interface MethodDefinition<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

interface InferenceServiceMethods {
  ServerReady: MethodDefinition<Record<string, never>, { ready: boolean }>;
  ModelReady: MethodDefinition<{ name: string; version: string }, { ready: boolean }>;
  ModelMetadata: MethodDefinition<{ name: string; version: string }, RawModelMetadata>;
  ModelInfer: MethodDefinition<RawInferRequest, RawInferResponse>;
}

const loadedProtos = new Map<string, InferenceServiceMethods>();

function loadService(protoPath: string): InferenceServiceMethods {
  const cached = loadedProtos.get(protoPath);
  if (cached) return cached;
  if (!existsSync(protoPath)) {
    throw new Error(
      `KServe v2 proto not found at ${protoPath}: the repository's proto/ folder must be present at run time ` +
        '(container images: COPY proto/ next to services/)',
    );
  }
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = definition['inference.GRPCInferenceService'] as unknown as InferenceServiceMethods | undefined;
  if (!service?.ModelInfer) throw new Error(`${protoPath} does not define inference.GRPCInferenceService with ModelInfer`);
  loadedProtos.set(protoPath, service);
  return service;
}

function failureKind(code: grpc.status): KserveFailureKind {
  switch (code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return 'deadline';
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return 'unavailable';
    case grpc.status.NOT_FOUND:
      return 'not-found';
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.FAILED_PRECONDITION:
      return 'rejected';
    default:
      return 'server';
  }
}

const toNumbers = (shape: readonly string[]): number[] => shape.map(Number);

export interface KserveGrpcClientOptions {
  readonly protoPath?: string;
  /** Largest reply accepted; default 64 MiB (grpc's 4 MiB default is too small for big batches). */
  readonly maxReceiveBytes?: number;
}

export class KserveGrpcClient implements KserveEndpoint {
  private readonly client: grpc.Client;
  private readonly service: InferenceServiceMethods;

  constructor(
    readonly address: string,
    options: KserveGrpcClientOptions = {},
  ) {
    this.service = loadService(options.protoPath ?? defaultKserveProtoPath());
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxReceiveBytes ?? 64 << 20,
      'grpc.max_send_message_length': -1,
      // A server that comes back must be reachable again within seconds, not after grpc's
      // default back-off of up to two minutes.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
      // Own connections, closed with the client: grpc-js otherwise keeps them in a process-wide
      // pool after close(), and a server being stopped waits for them.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  async serverReady(timeoutMs: number): Promise<boolean> {
    return (await this.unary('ServerReady', {}, timeoutMs, '')).ready;
  }

  async modelReady(name: string, version: string, timeoutMs: number): Promise<boolean> {
    return (await this.unary('ModelReady', { name, version }, timeoutMs, name)).ready;
  }

  async modelMetadata(name: string, version: string, timeoutMs: number): Promise<KserveModelMetadata> {
    const raw = await this.unary('ModelMetadata', { name, version }, timeoutMs, name);
    const tensor = (t: RawTensorMetadata) => ({ name: t.name, datatype: t.datatype, shape: toNumbers(t.shape) });
    return { name: raw.name, versions: raw.versions, platform: raw.platform, inputs: raw.inputs.map(tensor), outputs: raw.outputs.map(tensor) };
  }

  async modelInfer(request: KserveInferRequest, timeoutMs: number): Promise<KserveInferResponse> {
    const raw = await this.unary(
      'ModelInfer',
      {
        model_name: request.modelName,
        model_version: request.modelVersion,
        id: request.id,
        inputs: request.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [...i.shape] })),
        outputs: request.outputs.map((name) => ({ name })),
        raw_input_contents: request.inputs.map((i) => i.data),
      },
      timeoutMs,
      request.modelName,
    );
    return {
      modelName: raw.model_name,
      modelVersion: raw.model_version,
      id: raw.id,
      outputs: raw.outputs.map((o, index) => ({
        name: o.name,
        datatype: o.datatype,
        shape: toNumbers(o.shape),
        // raw_output_contents is indexed like outputs when present (KServe v2 rule: all or none).
        ...(raw.raw_output_contents.length > 0 ? { raw: raw.raw_output_contents[index] } : {}),
        ...(o.contents?.fp32_contents?.length ? { fp32: o.contents.fp32_contents } : {}),
      })),
    };
  }

  close(): void {
    this.client.close();
  }

  private unary<K extends keyof InferenceServiceMethods>(
    method: K,
    request: Parameters<InferenceServiceMethods[K]['requestSerialize']>[0],
    timeoutMs: number,
    model: string,
  ): Promise<ReturnType<InferenceServiceMethods[K]['responseDeserialize']>> {
    type Res = ReturnType<InferenceServiceMethods[K]['responseDeserialize']>;
    const definition = this.service[method] as unknown as MethodDefinition<typeof request, Res>;
    const what = `${method}${model ? ` ${model}` : ''} on ${this.address}`;
    return new Promise<Res>((resolvePromise, reject) => {
      this.client.makeUnaryRequest<typeof request, Res>(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        { deadline: Date.now() + timeoutMs },
        (error, reply) => {
          if (!error && reply) return resolvePromise(reply);
          if (!error) return reject(new KserveCallError('server', this.address, method, `${what}: empty reply`));
          const kind = failureKind(error.code);
          const message =
            kind === 'deadline'
              ? `${what}: no answer within ${timeoutMs} ms (TRITON_TIMEOUT_MS)`
              : `${what} failed (${grpc.status[error.code] ?? error.code}): ${(error.details || error.message).replace(/\.? ?Resolution note: ?\.?$/, '')}`;
          reject(new KserveCallError(kind, this.address, method, message));
        },
      );
    });
  }
}
