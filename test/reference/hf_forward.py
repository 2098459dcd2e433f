#!/usr/bin/env python3
"""hf_forward.py - an independent numpy forward pass of the decoder models hxq
runs, written from transformers' modeling code (not from hxq's C), used to make
the goldens that hxq's engine is tested against.

It reads a model folder the way transformers does (config.json, safetensors,
one file or shards with model.safetensors.index.json) and computes float32
logits, float64 accumulation where numpy chooses it. An HXQ folder
(quantization_config.quant_method "hxq") is run on its effective weights:
W = codebook[indices], sidecar values replacing, i.e. what a correct loader
computes.

Supported: OLMoE (OlmoeForCausalLM). Other families extend ARCH below.

Usage as a module:
    m = Model.load(folder)
    logits = m.forward(ids)            # [T, V] float32, a fresh sequence
As a script:
    hf_forward.py FOLDER --ids 1,2,3 [--greedy N] [--check GOLDEN.safetensors]

Only numpy and the standard library (Debian: python3-numpy).
"""
import argparse
import json
import os
import struct
import sys

# one BLAS thread: the tiny matrices here gain nothing from threads, whose
# spinning costs more than the work
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "U8": np.uint8,
          "I64": np.int64, "I32": np.int32, "F64": np.float64}


def read_safetensors(path):
    """{name: numpy array} of one file; BF16 widened to float32."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, t in header.items():
            if name == "__metadata__":
                continue
            b, e = t["data_offsets"]
            f.seek(base + b)
            a = np.frombuffer(f.read(e - b), dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
            if t["dtype"] == "BF16":
                a = (a.astype(np.uint32) << 16).view(np.float32)
            out[name] = a
        return out


def read_folder_tensors(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for fn in files:
        tensors.update(read_safetensors(os.path.join(folder, fn)))
    return tensors


def effective_weights(tensors, modules):
    """Replace each HXQ module's codebook/indices/sidecar by its dense weight."""
    for p in modules:
        cb = tensors.pop(p + ".codebook").astype(np.float32)
        idx = tensors.pop(p + ".indices")
        w = cb[idx].reshape(-1)
        pos = tensors.pop(p + ".sidecar_positions", None)
        val = tensors.pop(p + ".sidecar_values", None)
        if pos is not None:
            w[pos] = val.astype(np.float32)
        tensors[p + ".weight"] = w.reshape(idx.shape)
    return tensors


def rmsnorm(x, w, eps):
    x = x.astype(np.float32)
    var = np.mean(x * x, axis=-1, keepdims=True)
    return (w * (x / np.sqrt(var + eps))).astype(np.float32)


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def rope_inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta")
    if theta is None:
        theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    return (1.0 / (np.float32(theta) ** (np.arange(0, head_dim, 2, dtype=np.float32)
                                          / np.float32(head_dim)))).astype(np.float32)


def rope_neox(x, pos, inv_freq):
    """x [T, heads, d]: rotate_half with dimension i paired with i + d/2."""
    ang = (pos[:, None].astype(np.float32) * inv_freq[None, :]).astype(np.float32)
    cos = np.cos(ang)[:, None, :]
    sin = np.sin(ang)[:, None, :]
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1).astype(np.float32)


class Model:
    def __init__(self, cfg, t):
        self.cfg = cfg
        self.t = t
        self.H = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.hd = cfg.get("head_dim") or self.H // self.nh
        self.eps = cfg.get("rms_norm_eps", 1e-5)
        self.inv_freq = rope_inv_freq(cfg, self.hd)
        self.arch = ARCH[cfg["model_type"]]

    @classmethod
    def load(cls, folder):
        cfg = json.load(open(os.path.join(folder, "config.json")))
        if cfg["model_type"] not in ARCH:
            raise SystemExit("hf_forward: model_type %r is not supported" % cfg["model_type"])
        t = read_folder_tensors(folder)
        q = cfg.get("quantization_config")
        if q:
            t = effective_weights(t, q["compressed_modules"])
        t = {k: v.astype(np.float32) if v.dtype != np.float32 else v for k, v in t.items()}
        return cls(cfg, t)

    def w(self, name):
        return self.t[name]

    def linear(self, x, name):
        y = x @ self.w(name + ".weight").T
        b = self.t.get(name + ".bias")
        return y + b if b is not None else y

    def attention(self, l, a, pos):
        p = "model.layers.%d.self_attn." % l
        T = a.shape[0]
        q = self.linear(a, p + "q_proj")
        k = self.linear(a, p + "k_proj")
        v = self.linear(a, p + "v_proj")
        q, k = self.arch["qk_norm"](self, p, q, k)
        q = rope_neox(q.reshape(T, self.nh, self.hd), pos, self.inv_freq)
        k = rope_neox(k.reshape(T, self.nkv, self.hd), pos, self.inv_freq)
        v = v.reshape(T, self.nkv, self.hd)
        rep = self.nh // self.nkv
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.float32(np.sqrt(self.hd))
        mask = np.triu(np.ones((T, T), dtype=bool), 1)
        s = np.where(mask[None], -np.inf, s)
        o = np.einsum("hts,shd->thd", softmax(s, -1), v).reshape(T, self.nh * self.hd)
        return self.linear(o.astype(np.float32), p + "o_proj")

    def forward(self, ids, hidden=None, router=None):
        """Logits [T, V] of a fresh sequence. hidden / router, when lists, receive
        transformers' output_hidden_states and router logits."""
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.arange(len(ids))
        x = self.w("model.embed_tokens.weight")[ids].astype(np.float32)
        L = self.cfg["num_hidden_layers"]
        for l in range(L):
            if hidden is not None:
                hidden.append(x.copy())
            p = "model.layers.%d." % l
            a = rmsnorm(x, self.w(p + "input_layernorm.weight"), self.eps)
            x = (x + self.attention(l, a, pos)).astype(np.float32)
            m = rmsnorm(x, self.w(p + "post_attention_layernorm.weight"), self.eps)
            x = (x + self.arch["mlp"](self, l, m, router)).astype(np.float32)
        x = rmsnorm(x, self.w("model.norm.weight"), self.eps)
        if hidden is not None:
            hidden.append(x.copy())
        head = self.t.get("lm_head.weight")
        if head is None:
            head = self.w("model.embed_tokens.weight")
        return (x @ head.T).astype(np.float32)

    def greedy(self, ids, n):
        ids = list(ids)
        out = []
        for _ in range(n):
            nxt = int(np.argmax(self.forward(ids)[-1]))
            out.append(nxt)
            ids.append(nxt)
        return out


# ---- per-family pieces ----------------------------------------------------

def qk_norm_full(m, p, q, k):
    """OLMoE: RMSNorm over the whole projection, before the head split."""
    return (rmsnorm(q, m.w(p + "q_norm.weight"), m.eps),
            rmsnorm(k, m.w(p + "k_norm.weight"), m.eps))


def moe_olmoe(m, l, x, router):
    """Softmax over all experts, top-k (renormalised only with norm_topk_prob),
    SwiGLU experts; per-expert tensors or transformers 5's fused ones."""
    p = "model.layers.%d.mlp." % l
    E = m.cfg["num_experts"]
    K = m.cfg["num_experts_per_tok"]
    logits = x @ m.w(p + "gate.weight").T
    if router is not None:
        router.append(logits.astype(np.float32))
    prob = softmax(logits.astype(np.float32), -1)
    out = np.zeros_like(x)
    fused = p + "experts.gate_up_proj" in m.t
    for t in range(x.shape[0]):
        order = sorted(range(E), key=lambda e: (-prob[t, e], e))[:K]
        w = prob[t, order]
        if m.cfg.get("norm_topk_prob"):
            w = w / np.sum(w)
        for e, we in zip(order, w):
            if fused:
                I = m.cfg["intermediate_size"]
                gu = m.w(p + "experts.gate_up_proj")[e]
                g, u = x[t] @ gu[:I].T, x[t] @ gu[I:].T
                d = m.w(p + "experts.down_proj")[e]
            else:
                q = p + "experts.%d." % e
                g = x[t] @ m.w(q + "gate_proj.weight").T
                u = x[t] @ m.w(q + "up_proj.weight").T
                d = m.w(q + "down_proj.weight")
            out[t] += we * ((silu(g) * u) @ d.T)
    return out.astype(np.float32)


ARCH = {
    "olmoe": {"qk_norm": qk_norm_full, "mlp": moe_olmoe},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--ids", required=True, help="comma-separated prompt ids")
    ap.add_argument("--greedy", type=int, default=0)
    ap.add_argument("--check", help="a golden safetensors (publicI.ids / .logits) to compare")
    a = ap.parse_args()
    m = Model.load(a.folder)
    ids = [int(s) for s in a.ids.split(",") if s]
    logits = m.forward(ids)
    print(json.dumps({"argmax": [int(i) for i in np.argmax(logits, -1)],
                      "greedy": m.greedy(ids, a.greedy) if a.greedy else []}))
    if a.check:
        g = read_safetensors(a.check)
        for k in sorted(g):
            if k.endswith(".ids") and [int(i) for i in g[k]] == ids:
                d = np.max(np.abs(g[k[:-4] + ".logits"] - logits))
                print("max |logit - golden| = %.3g" % d)
                return 0 if d < 1e-3 else 1
        print("no golden with these ids", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
