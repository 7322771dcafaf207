"""Write a trivial ONNX encoder pair with the real CLIP encoders' I/O names and shapes.

Lets the KServe server and its clients be tested before the real encoder models exist. The
graphs are tiny but input-dependent (different inputs give different embeddings), so a test
that hard-codes a reply would fail.

    python make_test_model.py <model dir>   # writes <dir>/onnx/{vision,text}_model.onnx
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EMBED_DIM = 512
# Older onnxruntime builds (the one inside Triton among them) reject newer IR versions.
IR_VERSION = 8
OPSET = 17


def _projection(name: str, rows: int, seed: int) -> onnx.TensorProto:
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array(rng.standard_normal((rows, EMBED_DIM)).astype(np.float32), name)


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def vision_model() -> onnx.GraphProto:
    # pixel_values [b,3,224,224] -> per-channel mean [b,3] -> [b,512]
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values"], ["channel_mean"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["channel_mean", "proj"], ["image_embeds"]),
    ]
    return helper.make_graph(
        nodes,
        "clip_image_test",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", EMBED_DIM])],
        [_projection("proj", 3, seed=1)],
    )


def text_model() -> onnx.GraphProto:
    # [sum(ids*mask), sum(mask)] per row -> [b,2] -> [b,512]
    nodes = [
        helper.make_node("Mul", ["input_ids", "attention_mask"], ["masked_ids"]),
        helper.make_node("Cast", ["masked_ids"], ["masked_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["masked_f", "axis1"], ["id_sum"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axis1"], ["token_count"], keepdims=1),
        helper.make_node("Concat", ["id_sum", "token_count"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "proj"], ["text_embeds"]),
    ]
    return helper.make_graph(
        nodes,
        "clip_text_test",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", EMBED_DIM])],
        [_projection("proj", 2, seed=2), numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")],
    )


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_test_model.py <model dir>")
    out = Path(sys.argv[1]) / "onnx"
    _save(vision_model(), out / "vision_model.onnx")
    _save(text_model(), out / "text_model.onnx")
    print(f"wrote {out}/vision_model.onnx and {out}/text_model.onnx")


if __name__ == "__main__":
    main()
