"""Converts nsfwjs's bundled Keras layers model (as dump-nsfwjs.js writes it) to ONNX, once.

The topology is Keras 2.2.4's JSON, which tf.keras 2.15 still reads; the weights are tfjs's
uint8-quantised tensors, dequantised here as tfjs does on load (q * scale + min), so the ONNX
model computes what nsfwjs computes in the browser/Node. tf2onnx turns the Keras model into an
ONNX graph: NHWC float32 input `input` [N, 224, 224, 3] in [0, 1], output `probabilities` [N, 5].

Run: python keras-to-onnx.py <dir with model.json + weights.bin> <out.onnx>
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

OPSET = 13


def load(src):
    with open(os.path.join(src, "model.json")) as f:
        spec = json.load(f)
    model = tf.keras.models.model_from_json(json.dumps(spec["modelTopology"]["model_config"]))
    weights = {}
    for group in spec["weightsManifest"]:
        blob = b"".join(open(os.path.join(src, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                assert q["dtype"] == "uint8" and w["dtype"] == "float32", w
                raw = np.frombuffer(blob, np.uint8, count, offset).astype(np.float32)
                # tfjs: Float32Array of v * scale + min, computed in float32
                values = raw * np.float32(q["scale"]) + np.float32(q["min"])
                offset += count
            else:
                assert w["dtype"] == "float32", w
                values = np.frombuffer(blob, np.float32, count, offset)
                offset += 4 * count
            weights[w["name"]] = values.reshape(w["shape"])
        assert offset == len(blob), (offset, len(blob))
    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        values = []
        for v in layer.weights:
            name = v.name.split(":")[0]
            if name not in weights:
                raise KeyError(f"no tfjs weight for {name}")
            values.append(weights[name])
            used.add(name)
        layer.set_weights(values)
    unused = set(weights) - used
    if unused:
        raise KeyError(f"tfjs weights the Keras model did not take: {sorted(unused)[:5]}")
    return model


def main():
    src, out = sys.argv[1], sys.argv[2]
    model = load(src)
    size = model.input_shape[1]
    signature = (tf.TensorSpec((None, size, size, 3), tf.float32, name="input"),)
    onnx_model, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    # one output: renamed for a stable fetch name
    old = onnx_model.graph.output[0].name
    for node in onnx_model.graph.node:
        node.output[:] = ["probabilities" if o == old else o for o in node.output]
    onnx_model.graph.output[0].name = "probabilities"
    onnx.checker.check_model(onnx_model)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        f.write(onnx_model.SerializeToString())
    os.replace(out + ".tmp", out)
    # What Keras says for a fixed probe, so the caller can compare onnxruntime against it.
    probe = (np.arange(size * size * 3, dtype=np.float32).reshape(1, size, size, 3) % 251) / 255.0
    print(json.dumps({"out": out, "bytes": os.path.getsize(out), "opset": OPSET, "kerasProbe": model.predict(probe, verbose=0)[0].tolist()}))


if __name__ == "__main__":
    main()
