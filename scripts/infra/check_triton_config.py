"""Parse deploy/triton/model_repository/*/config.pbtxt with Triton's own ModelConfig proto
(shipped in tritonclient) and check names and dims against what adseed's encoder client sends.

    python check_triton_config.py <model_repository>
"""

import sys
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

EXPECTED = {
    "clip_image": ({"pixel_values": ("TYPE_FP32", [3, 224, 224])}, {"image_embeds": ("TYPE_FP32", [512])}),
    # The Xenova export's text tower declares input_ids only; attention_mask is optional.
    "clip_text": ({"input_ids": ("TYPE_INT64", [-1])}, {"text_embeds": ("TYPE_FP32", [512])}),
}
OPTIONAL_INPUTS = {"clip_text": {"attention_mask": ("TYPE_INT64", [-1])}}


def tensors(items) -> dict[str, tuple[str, list[int]]]:
    return {t.name: (mc.DataType.Name(t.data_type), list(t.dims)) for t in items}


def main() -> None:
    repo = Path(sys.argv[1])
    problems = []
    for model, (inputs, outputs) in EXPECTED.items():
        path = repo / model / "config.pbtxt"
        cfg = text_format.Parse(path.read_text(), mc.ModelConfig())
        if cfg.name != model:
            problems.append(f"{path}: name {cfg.name!r} != directory {model!r}")
        if cfg.backend != "onnxruntime":
            problems.append(f"{path}: backend {cfg.backend!r}, expected 'onnxruntime'")
        if cfg.max_batch_size < 1 or not cfg.HasField("dynamic_batching"):
            problems.append(f"{path}: needs max_batch_size >= 1 and dynamic_batching")
        declared = tensors(cfg.input)
        optional = {k: v for k, v in OPTIONAL_INPUTS.get(model, {}).items() if k in declared}
        if declared != {**inputs, **optional}:
            problems.append(f"{path}: inputs {declared} != {inputs} (optionally {OPTIONAL_INPUTS.get(model, {})})")
        if tensors(cfg.output) != outputs:
            problems.append(f"{path}: outputs {tensors(cfg.output)} != {outputs}")
    if problems:
        sys.exit("\n".join(problems))
    print(f"triton configs ok: {', '.join(EXPECTED)} parse as ModelConfig and match the encoder I/O")


if __name__ == "__main__":
    main()
