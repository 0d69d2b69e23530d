"""Opens a sparsetrain checkpoint with PyTorch: parse safetensors, rebuild the model, load_state_dict(strict=True), run it.

Usage: /usr/bin/python3 scripts/torch/load_checkpoint.py <checkpoint.safetensors> <inputs.json>
Prints JSON {"keys": [...], "logits": [[...], ...]} for the inputs (a list of flat examples).

It reads the file with the standard library and numpy (the `safetensors` package is not needed):
8-byte little-endian header length, JSON header, raw little-endian data. Sparse weights stored as
torch CSR triples (<name>.crow_indices / .col_indices / .values) become torch.sparse_csr_tensor
and are densified for load_state_dict.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "I8": np.int8}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[base + begin : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def state_dict_from(tensors, metadata):
    sparse_shapes = json.loads(metadata.get("sparse", "{}"))
    state = {}
    for name, shape in sparse_shapes.items():
        csr = torch.sparse_csr_tensor(
            tensors.pop(name + ".crow_indices"), tensors.pop(name + ".col_indices"), tensors.pop(name + ".values"), size=tuple(shape)
        )
        state[name] = csr.to_dense()
    for name, t in tensors.items():
        if name.endswith("_mask"):
            continue
        state[name] = t
    return state


class Model(nn.Module):
    """The sparsetrain MLP presets as PyTorch modules with the same parameter names (layers.N.weight)."""

    def __init__(self, spec):
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}[spec.get("activation", "relu")]
        widths = {"lenet-300-100": [300, 100], "mlp": spec.get("widths")}[spec["preset"]]
        size = int(np.prod(spec["inputShape"]))
        layers = []
        for w in widths:
            layers += [nn.Linear(size, w), act()]
            if spec.get("dropout"):
                layers.append(nn.Dropout(spec["dropout"]))
            size = w
        layers.append(nn.Linear(size, spec["classes"]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x.flatten(1))


def main():
    tensors, metadata = read_safetensors(sys.argv[1])
    spec = json.loads(metadata["model"])
    model = Model(spec)
    state = state_dict_from(tensors, metadata)
    model.load_state_dict(state, strict=True)
    model.eval()
    with open(sys.argv[2]) as f:
        inputs = torch.tensor(json.load(f), dtype=torch.float32)
    with torch.no_grad():
        logits = model(inputs)
    print(json.dumps({"keys": sorted(state.keys()), "logits": logits.tolist(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
