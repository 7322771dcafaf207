"""Serve the CLIP ONNX encoders over the KServe v2 protocol with the real Triton server.

PyTriton starts Triton's own `tritonserver` binary (bundled in the wheel) and binds each model
to a Python callable through Triton's Python backend; the callable runs onnxruntime on CPU.
The wheel ships only the Python backend, not Triton's onnxruntime backend, hence the callable.
Clients see plain Triton: gRPC GRPCInferenceService, HTTP /v2, dynamic batching.

    python kserve_server.py --model-dir DIR [--grpc-port 18001 --http-port 18000 ...]

DIR must hold onnx/vision_model.onnx and onnx/text_model.onnx.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

EMBED_DIM = 512
LOG = logging.getLogger("adseed.kserve")


def _model_file(model_dir: Path, tower: str) -> Path:
    """The q8 export's *_quantized.onnx when present (as the product's encoder prefers), else the plain file."""
    quantized = model_dir / "onnx" / f"{tower}_model_quantized.onnx"
    return quantized if quantized.exists() else model_dir / "onnx" / f"{tower}_model.onnx"


def _session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        sys.exit(f"missing model file {path}: run scripts/infra/kserve.sh install, or point "
                 "ADSEED_KSERVE_MODEL_DIR at a directory with onnx/vision_model.onnx and onnx/text_model.onnx")
    options = ort.SessionOptions()
    # Two cores on our machines: one intra-op thread per model keeps the two encoders from
    # fighting each other and Triton's own threads.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _check_io(session: ort.InferenceSession, inputs: list[str], output: str, path: Path,
              optional: tuple[str, ...] = ()) -> list[str]:
    """Returns the declared inputs: the required ones plus whichever optional ones the file has."""
    have_in = [i.name for i in session.get_inputs()]
    have_out = [o.name for o in session.get_outputs()]
    if not set(inputs) <= set(have_in) or not set(have_in) <= set(inputs) | set(optional) or output not in have_out:
        extra = f" (optionally {list(optional)})" if optional else ""
        sys.exit(f"{path}: expected inputs {inputs}{extra} and output {output}, "
                 f"found inputs {have_in} and outputs {have_out}")
    return have_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--grpc-port", type=int, default=18001)
    parser.add_argument("--http-port", type=int, default=18000)
    parser.add_argument("--metrics-port", type=int, default=18002)
    parser.add_argument("--workspace", type=Path, required=True,
                        help="PyTriton scratch dir, must not exist yet (generated model repository, sockets)")
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--queue-delay-us", type=int, default=2000)
    parser.add_argument("--ort-threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    vision_path = _model_file(args.model_dir, "vision")
    text_path = _model_file(args.model_dir, "text")
    vision = _session(vision_path, args.ort_threads)
    text = _session(text_path, args.ort_threads)
    _check_io(vision, ["pixel_values"], "image_embeds", vision_path)
    # The Xenova export's text tower takes input_ids only; serve exactly what the file declares.
    text_inputs = _check_io(text, ["input_ids"], "text_embeds", text_path, optional=("attention_mask",))

    @batch
    def infer_image(pixel_values: np.ndarray) -> dict[str, np.ndarray]:
        (embeds,) = vision.run(["image_embeds"], {"pixel_values": pixel_values.astype(np.float32, copy=False)})
        return {"image_embeds": embeds.astype(np.float32, copy=False)}

    @batch
    def infer_text(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        # Dynamic batching only merges requests of equal sequence length (Triton requires equal
        # shapes), so clients should pad to a fixed length (CLIP: 77) to benefit from it.
        (embeds,) = text.run(["text_embeds"], {name: inputs[name] for name in text_inputs})
        return {"text_embeds": embeds.astype(np.float32, copy=False)}

    config = TritonConfig(
        http_address=args.address, http_port=args.http_port,
        grpc_address=args.address, grpc_port=args.grpc_port,
        metrics_address=args.address, metrics_port=args.metrics_port,
        exit_timeout_secs=5,
    )
    batching = ModelConfig(
        max_batch_size=args.max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=args.queue_delay_us),
    )
    with Triton(config=config, workspace=str(args.workspace)) as triton:
        triton.bind(
            model_name="clip_image",
            infer_func=infer_image,
            inputs=[Tensor(name="pixel_values", dtype=np.float32, shape=(3, 224, 224))],
            outputs=[Tensor(name="image_embeds", dtype=np.float32, shape=(EMBED_DIM,))],
            config=batching,
        )
        triton.bind(
            model_name="clip_text",
            infer_func=infer_text,
            inputs=[Tensor(name=name, dtype=np.int64, shape=(-1,)) for name in text_inputs],
            outputs=[Tensor(name="text_embeds", dtype=np.float32, shape=(EMBED_DIM,))],
            config=batching,
        )
        LOG.info("serving clip_image, clip_text: gRPC %s:%d, HTTP %s:%d (pid %d)",
                 args.address, args.grpc_port, args.address, args.http_port, os.getpid())
        triton.serve()


if __name__ == "__main__":
    main()
