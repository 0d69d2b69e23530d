"""Opens a quantized sparsetrain checkpoint with PyTorch: codes × scales, then the float model as load_checkpoint.py runs it.

Usage: /usr/bin/python3 scripts/torch/dequantize_checkpoint.py <inputs.json> <quantized.safetensors>...
Prints one JSON line per checkpoint: {"quantization": {...}, "weights": {name: flat dense weight}, "logits": [[...], ...]}.

Layout (README "Quantization"): per quantized weight <name>, int8 codes as I8 (dense: the weight's
shape; CSR: <name>.values) or int4 codes packed two per byte as U8 (flat, first code in the low
nibble); <name>_scale F32, one per output row (per-row) or one (per-tensor); zero point 0.
"""
import json
import sys

import torch

from load_checkpoint import Model, read_safetensors, state_dict_from


def unpack_int4(packed, count):
    low = (packed & 0xF).to(torch.int8)
    high = (packed >> 4).to(torch.int8)
    codes = torch.stack([low, high], dim=1).flatten()[:count]
    return torch.where(codes >= 8, codes - 16, codes)


def dequantize(tensors, quantization, sparse_shapes):
    for name, layer in quantization["layers"].items():
        shape = layer["shape"]
        scale = tensors.pop(name + "_scale")
        if name in sparse_shapes:
            crow = tensors[name + ".crow_indices"]
            count = tensors[name + ".col_indices"].numel()
            codes = tensors[name + ".values"]
            codes = unpack_int4(codes, count) if quantization["bits"] == 4 else codes
            # The row of every stored entry, from the row pointers.
            rows = torch.repeat_interleave(torch.arange(shape[0]), crow[1:] - crow[:-1])
            per_entry = scale[rows] if scale.numel() > 1 else scale.expand(count)
            tensors[name + ".values"] = codes.to(torch.float32) * per_entry
        else:
            count = 1
            for d in shape:
                count *= d
            codes = tensors[name]
            codes = unpack_int4(codes, count).reshape(shape) if quantization["bits"] == 4 else codes
            tensors[name] = codes.to(torch.float32) * scale.reshape([-1] + [1] * (len(shape) - 1))


def run(path, inputs):
    tensors, metadata = read_safetensors(path)
    quantization = json.loads(metadata["quantization"])
    sparse_shapes = json.loads(metadata.get("sparse", "{}"))
    dequantize(tensors, quantization, sparse_shapes)
    state = state_dict_from(tensors, metadata)
    model = Model(json.loads(metadata["model"]))
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
    weights = {name: state[name].flatten().tolist() for name in quantization["layers"]}
    return {"quantization": quantization, "weights": weights, "logits": logits.tolist()}


def main():
    with open(sys.argv[1]) as f:
        inputs = torch.tensor(json.load(f), dtype=torch.float32)
    for path in sys.argv[2:]:
        print(json.dumps(run(path, inputs)))


if __name__ == "__main__":
    main()
