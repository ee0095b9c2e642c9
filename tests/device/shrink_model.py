"""A GGUF cut to its first N transformer blocks, so the GPU check's model travels in the device
tool's 64 MiB (the bundled SmolLM2-135M is 98 MB). Its text is poor; the check measures the
CUDA build, the offload, the link and NVML, not the model. Needs the `gguf` package (prepare.sh
installs it in a temporary folder; it is not one of ours).

    python tests/device/shrink_model.py IN.gguf OUT.gguf --blocks 8
"""

from __future__ import annotations

import argparse
import re

import gguf


def shrink(source: str, target: str, blocks: int) -> None:
    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    block_count = gguf.Keys.LLM.BLOCK_COUNT.format(arch=arch)
    writer = gguf.GGUFWriter(target, arch=arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer adds these itself
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = blocks if field.name == block_count else field.contents()
        writer.add_key_value(field.name, value, kind, sub_type=sub_type)
    kept = [tensor for tensor in reader.tensors if _block(tensor.name) < blocks]
    for tensor in kept:
        data = tensor.data
        writer.add_tensor_info(tensor.name, data.shape, data.dtype, data.nbytes, tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in kept:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()


def _block(name: str) -> int:
    found = re.match(r"blk\.(\d+)\.", name)
    return int(found.group(1)) if found else -1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--blocks", type=int, default=8)
    args = parser.parse_args()
    shrink(args.source, args.target, args.blocks)
