#!/usr/bin/env python3
"""make_family_goldens.py - the goldens of test/infer/test_families.c: for each
model family, the tiny synthetic checkpoint `hxq synth --arch NAME` writes and
its `hxq compress`ed folder are run through the numpy reference (hf_forward.py,
written from transformers' modeling code), and what the C engine must reproduce
is stored in test/fixtures/families/NAME.safetensors:

  pJ.ids            I64 [T]   prompt J's ids (hxq's tokenizer, plus the BOS
                              when the family's tokenizer adds one)
  sub_ids           I64 [S]   the vocabulary ids of the .sub logits
  V.pJ.last         F32 [V]   the last position's logits (V = dense, hxq)
  V.pJ.sub          F32 [T,S] the logits of ids sub_ids at every position
  V.pJ.greedy16     I64 [16]  greedy continuation (each step's top-2 margin
                              checked to be far above float noise)

and in __metadata__ the SHA-256 of the files the test regenerates (synth's
model.safetensors and config.json, compress's model.safetensors): the test
first checks those, so a change of synth or of the compressor says "regenerate
the goldens" instead of failing on logits.

Run from the repository root after `make`:
    /usr/bin/python3 test/reference/make_family_goldens.py [NAME ...]
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_forward as hf  # noqa: E402

FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "mixtral", "qwen3_moe", "olmoe"]
PROMPTS = ["First Citizen:\nBefore we proceed any further, hear me speak.",
           "ROMEO:\nBut, soft! what light through yonder window breaks? It is the east, "
           "and Juliet is the sun. Arise,"]
GREEDY = 16
SUB = 32
MIN_MARGIN = 1e-4       # of the logit range; the engine differs by ~1e-6
OUT = "test/fixtures/families"
HXQ = os.environ.get("HXQ_BIN", "build/hxq")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def write_safetensors(path, tensors, metadata):
    """A safetensors file as our reader validates it: sorted names, data back
    to back, header padded with spaces to a multiple of 8."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def prompt_ids(folder, text):
    out = subprocess.run([HXQ, "tokenize", folder, "--json", text], check=True,
                         capture_output=True, text=True).stdout
    ids = json.loads(out)["ids"]
    tc = json.load(open(os.path.join(folder, "tokenizer_config.json")))
    if tc.get("add_bos_token"):
        ids = [json.load(open(os.path.join(folder, "config.json")))["bos_token_id"]] + ids
    return ids


def greedy(m, ids, n, name):
    ids, out = list(ids), []
    for step in range(n):
        last = m.forward(ids)[-1]
        top = np.sort(last)[-2:]
        margin = (top[1] - top[0]) / (last.max() - last.min())
        if margin < MIN_MARGIN:
            raise SystemExit("%s: greedy step %d has a near tie (%.2g of the range); pick "
                             "another prompt" % (name, step, margin))
        out.append(int(np.argmax(last)))
        ids.append(out[-1])
    return out


def family(arch, tmp):
    dense, hxq = os.path.join(tmp, arch), os.path.join(tmp, arch + "-hxq")
    subprocess.run([HXQ, "synth", dense, "--arch", arch], check=True)
    subprocess.run([HXQ, "compress", dense, hxq, "--threads", "2"], check=True,
                   stdout=subprocess.DEVNULL)
    ids = [prompt_ids(dense, p) for p in PROMPTS]
    V = json.load(open(os.path.join(dense, "config.json")))["vocab_size"]
    sub = np.linspace(0, V - 1, SUB).round().astype(np.int64)
    t = {"sub_ids": sub}
    for j, p in enumerate(ids):
        t["p%d.ids" % j] = np.array(p, dtype=np.int64)
    for variant, folder in (("dense", dense), ("hxq", hxq)):
        m = hf.Model.load(folder)
        for j, p in enumerate(ids):
            logits = m.forward(p)
            t["%s.p%d.last" % (variant, j)] = logits[-1]
            t["%s.p%d.sub" % (variant, j)] = np.ascontiguousarray(logits[:, sub])
            t["%s.p%d.greedy16" % (variant, j)] = np.array(
                greedy(m, p, GREEDY, "%s %s p%d" % (arch, variant, j)), dtype=np.int64)
    meta = {"arch": arch, "made_by": "test/reference/make_family_goldens.py",
            "synth": "hxq synth DIR --arch %s" % arch,
            "dense_sha256": sha256(os.path.join(dense, "model.safetensors")),
            "config_sha256": sha256(os.path.join(dense, "config.json")),
            "hxq_sha256": sha256(os.path.join(hxq, "model.safetensors"))}
    for j, p in enumerate(PROMPTS):
        meta["prompt%d" % j] = p
    write_safetensors(os.path.join(OUT, arch + ".safetensors"), t, meta)
    print("%s: %s" % (arch, ", ".join("p%d %d ids" % (j, len(p)) for j, p in enumerate(ids))))


def main():
    names = sys.argv[1:] or FAMILIES
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="hxq-goldens.")
    try:
        for a in names:
            family(a, tmp)
    finally:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
