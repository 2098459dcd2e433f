#!/usr/bin/env python3
"""make_seeds.py - regenerates the small seed corpora of the fuzz targets
from the fixtures (run from the repository root; output is committed).

safetensors: the real headers of the fixture shards with every tensor shrunk
to a few elements (same names, dtypes and ranks), plus one small file per
dtype. config / qconfig / index: the fixture JSON files, with the long
lists cut so each seed stays small. tokenizer_load: the fixture tokenizer
cut to 600 ids; tokenizer_encode: short texts. chat_template: the templates of
test/fixtures/chat/templates/ and the snippets of test/fixtures/chat/snippets.json
(each with its variables after a NUL byte). (receipt: the
compression_receipt.json of `hxq compress models/tiny-olmoe`, cut to five
tensors by hand; not regenerated here; eval_receipt: the eval_receipt.json
of `hxq eval models/tiny-olmoe-helix --task arc --limit 3 --reference
models/tiny-olmoe --receipt`, not regenerated here either.) mc_rows: a
task byte (0 hellaswag, 1 arc, 2 mc) then the first rows of
test/fixtures/mc/<task>.jsonl."""
import json, os, struct

OUT = "test/fuzz/corpus"

def st_bytes(entries, meta={"format": "pt"}, pad=True):
    """entries: list of (name, dtype, shape, data bytes) in data order."""
    hdr, off, blob = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, data in entries:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(hdr, separators=(",", ":"), sort_keys=True).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2,
         "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}

def put(sub, name, data):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)
    with open(os.path.join(OUT, sub, name), "wb") as f:
        f.write(data)

def shrunk(path, limit):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    hdr.pop("__metadata__", None)
    items = sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0])[:limit]
    ents = []
    for i, (name, t) in enumerate(items):
        shape = [min(d, 2 + (i % 3)) for d in t["shape"]]
        cnt = 1
        for d in shape:
            cnt *= d
        ents.append((name, t["dtype"], shape, bytes((i + k) & 0xff for k in range(cnt * SIZES[t["dtype"]]))))
    return st_bytes(ents)

def main():
    put("safetensors", "shard3_shrunk.safetensors",
        shrunk("models/tiny-olmoe/model-00003-of-00003.safetensors", 12))
    put("safetensors", "helix_shrunk.safetensors", shrunk("models/tiny-olmoe-helix/model.safetensors", 16))
    put("safetensors", "golden_dense_shrunk.safetensors",
        shrunk("test/fixtures/golden/golden_dense.safetensors", 8))
    put("safetensors", "every_dtype.safetensors",
        st_bytes([("t." + dt, dt, [2, 1], bytes(range(2 * s))) for dt, s in SIZES.items()]))
    put("safetensors", "scalar_and_empty.safetensors",
        st_bytes([("s", "F32", [], b"\0\0\x80\x3f"), ("z", "BF16", [0, 4], b""), ("y", "U8", [3], b"abc")]))
    put("safetensors", "no_metadata.safetensors", st_bytes([("a", "F16", [1], b"\0\x3c")], meta=None))
    put("safetensors", "empty_header.safetensors", st_bytes([], meta=None))
    for name in ("config.json",):
        with open("models/tiny-olmoe/" + name, "rb") as f:
            put("config", "tiny_olmoe_config.json", f.read())
    cfg = json.load(open("models/tiny-olmoe-helix/config.json"))
    cfg["quantization_config"]["compressed_modules"] = cfg["quantization_config"]["compressed_modules"][:6]
    put("config", "helix_config.json", json.dumps(cfg, indent=2).encode())
    put("qconfig", "helix_config.json", json.dumps(cfg, indent=2).encode())
    legacy = {"quantization_config": {"quant_method": "cdna_v3", "bits": 8, "n_clusters": 256,
                                      "compressed_modules": ["model.layers.0.self_attn.q_proj"]}}
    put("qconfig", "legacy_cdna_v3.json", json.dumps(legacy).encode())
    idx = json.load(open("models/tiny-olmoe/model.safetensors.index.json"))
    wm = sorted(idx["weight_map"].items())
    idx["weight_map"] = dict(wm[:5] + wm[-5:])
    put("index", "tiny_olmoe_index.json", json.dumps(idx, indent=2).encode())

def cut_tokenizer(t, keep=600):
    """t (a parsed tokenizer.json) cut to ids below keep, the merges among
    them, the first added tokens renumbered into the kept range."""
    vocab = {k: v for k, v in t["model"]["vocab"].items() if v < keep}
    merges = []
    for m in t["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    t["model"]["vocab"] = vocab
    t["model"]["merges"] = merges
    added = []
    for i, a in enumerate(t["added_tokens"][:4]):
        a = dict(a)
        if a["id"] >= keep:
            a["id"] = keep + i
        added.append(a)
    t["added_tokens"] = added
    pp = t.get("post_processor") or {}
    for tok in (pp.get("special_tokens") or {}).values():   # TemplateProcessing's ids
        tok["ids"] = [i if i < keep else added[0]["id"] for i in tok.get("ids", [])]
    return t


# Pre-tokenizers, normalizers, decoders and post-processors of the families,
# each alone on a minimal byte-fallback BPE, so the fuzzer starts from every
# component's parser.
COMPONENTS = {
    "normalizer": [
        {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                             {"type": "Replace", "pattern": {"String": " "},
                                              "content": "\u2581"}]},
        {"type": "Lowercase"}, {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "NFKD"},
        {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
    ],
    "pre_tokenizer": [
        {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": b, "invert": inv}
        for b in ("Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous")
        for inv in (False, True)
    ] + [
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": ps, "split": sp}
        for ps in ("first", "always", "never") for sp in (False, True)
    ] + [
        {"type": "Digits", "individual_digits": True}, {"type": "Punctuation"},
        {"type": "Whitespace"}, {"type": "WhitespaceSplit"},
        {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True},
    ],
    "decoder": [
        {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"},
                                           "content": " "}, {"type": "ByteFallback"},
                                          {"type": "Fuse"},
                                          {"type": "Strip", "content": " ", "start": 1,
                                           "stop": 0}]},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
    ],
    "post_processor": [
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                  {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1],
         "trim_offsets": True, "add_prefix_space": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False},
    ],
}


def component_seeds():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b
    for w in ("\u2581", "a", "b", "1", "2", "\u2581a", "ab", "12"):
        vocab.setdefault(w, len(vocab))
    base = {"version": "1.0",
            "added_tokens": [{"id": i, "content": c, "special": True, "normalized": False,
                              "lstrip": False, "rstrip": False, "single_word": False}
                             for c, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))],
            "model": {"type": "BPE", "vocab": vocab, "unk_token": "<unk>", "fuse_unk": True,
                      "byte_fallback": True,
                      "merges": ["\u2581 a", "a b", "1 2"]}}
    for part, variants in COMPONENTS.items():
        for i, v in enumerate(variants):
            t = dict(base)
            t[part] = v
            put("tokenizer_load", "component_%s_%02d.json" % (part, i), json.dumps(t).encode())


def tokenizer_seeds():
    t = cut_tokenizer(json.load(open("models/tiny-olmoe/tokenizer.json")))
    put("tokenizer_load", "tiny_olmoe_small.json", json.dumps(t).encode())
    # the families' real files (make test-fixtures-npm), cut the same way
    for fam in ("llama2", "llama3", "qwen3"):
        path = "test/fixtures/npm/%s/tokenizer.json" % fam
        if os.path.exists(path):
            t = cut_tokenizer(json.load(open(path, encoding="utf-8")))
            put("tokenizer_load", "%s_small.json" % fam, json.dumps(t).encode())
    component_seeds()
    bare = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
    put("tokenizer_load", "minimal.json", json.dumps(bare).encode())
    texts = ["Hello world", "First Citizen:\nBefore we proceed any further, hear me speak.",
             "  spaces   and\ttabs\n\n", "<|endoftext|>after special<|padding|>",
             "caf\u00e9 \u0063\u0301 \u00c5ngstr\u00f6m", "emoji \U0001F600 and CJK \u4e2d\u6587",
             "numbers 12345 and 3.14159", "'s 't 're 've 'm 'll 'd"]
    for i, s in enumerate(texts):
        put("tokenizer_encode", "text%d.txt" % i, s.encode())
    put("tokenizer_encode", "invalid_utf8.bin", b"ok \xff\xfe \xc0\x80 \xed\xa0\x80")


def mc_seeds():
    for b, task in enumerate(("hellaswag", "arc", "mc")):
        with open("test/fixtures/mc/%s.jsonl" % task, "rb") as f:
            rows = f.read().split(b"\n")
        put("mc_rows", task + ".jsonl", bytes([b]) + b"\n".join(rows[:3]) + b"\n")


def chat_template_seeds():
    tdir = "test/fixtures/chat/templates"
    for name in sorted(os.listdir(tdir)):
        if name.endswith(".jinja"):
            with open(os.path.join(tdir, name), "rb") as f:
                put("chat_template", name, f.read())
    for i, case in enumerate(json.load(open("test/fixtures/chat/snippets.json"))["cases"]):
        put("chat_template", "snippet%03d.bin" % i,
            case["source"].encode() + b"\0" + case["vars"].encode())


if __name__ == "__main__":
    main()
    tokenizer_seeds()
    mc_seeds()
    chat_template_seeds()
