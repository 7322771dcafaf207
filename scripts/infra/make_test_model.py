"""Write a trivial ONNX encoder pair with the real CLIP encoders' I/O names and shapes.

Lets the KServe server and its clients be tested before the real encoder models exist. The
graphs are tiny but input-dependent (different inputs give different embeddings), so a test
that hard-codes a reply would fail.

    python make_test_model.py <model dir> [--with-attention-mask]
        # writes <dir>/onnx/{vision,text}_model.onnx

The text tower declares `input_ids` only, like the real Xenova/clip-vit-base-patch32 export;
`--with-attention-mask` adds the `attention_mask` input other CLIP exports declare. Both give
the same embeddings for end-of-text-padded rows: without a mask the graph counts the tokens up
to and including the first end-of-text id (where CLIP pools), with one it counts the mask.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EMBED_DIM = 512
EOS_ID = 49407  # <|endoftext|>, also CLIP's padding id
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


def text_model(with_attention_mask: bool = False) -> onnx.GraphProto:
    # [sum(ids*keep), sum(keep)] per row -> [b,2] -> [b,512]; keep = the mask, or the tokens up
    # to and including the first end-of-text id.
    if with_attention_mask:
        keep = [helper.make_node("Identity", ["attention_mask"], ["keep"])]
    else:
        keep = [
            helper.make_node("Equal", ["input_ids", "eos_id"], ["is_eos"]),
            helper.make_node("Cast", ["is_eos"], ["is_eos_i"], to=TensorProto.INT64),
            helper.make_node("CumSum", ["is_eos_i", "axis1"], ["eos_before"], exclusive=1),
            helper.make_node("Equal", ["eos_before", "zero"], ["keep_b"]),
            helper.make_node("Cast", ["keep_b"], ["keep"], to=TensorProto.INT64),
        ]
    nodes = keep + [
        helper.make_node("Mul", ["input_ids", "keep"], ["masked_ids"]),
        helper.make_node("Cast", ["masked_ids"], ["masked_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["keep"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["masked_f", "axis1"], ["id_sum"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axis1"], ["token_count"], keepdims=1),
        helper.make_node("Concat", ["id_sum", "token_count"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "proj"], ["text_embeds"]),
    ]
    return helper.make_graph(
        nodes,
        "clip_text_test",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
         for name in (["input_ids", "attention_mask"] if with_attention_mask else ["input_ids"])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", EMBED_DIM])],
        [_projection("proj", 2, seed=2), numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
        + ([] if with_attention_mask else [
            numpy_helper.from_array(np.array(EOS_ID, dtype=np.int64), "eos_id"),
            numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        ]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--with-attention-mask", action="store_true",
                        help="text tower also declares attention_mask (the real export does not)")
    args = parser.parse_args()
    out = args.model_dir / "onnx"
    _save(vision_model(), out / "vision_model.onnx")
    _save(text_model(args.with_attention_mask), out / "text_model.onnx")
    inputs = "input_ids, attention_mask" if args.with_attention_mask else "input_ids"
    print(f"wrote {out}/vision_model.onnx and {out}/text_model.onnx (text inputs: {inputs})")


if __name__ == "__main__":
    main()
