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

Supported (ARCH below, one row per config.json model_type, written from
transformers' modeling_<family>.py): llama, mistral, qwen2, qwen3 (dense SwiGLU
MLP), mixtral, qwen3_moe, olmoe (mixture of experts). What differs between them:
q/k RMSNorm (none, per head, or over the whole projection), biases, the sliding
window, the router's renormalisation, tensor names and config defaults. RoPE
scaling: default, linear and llama3 (transformers' rope_init_fn); others are
refused.

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


def f32(v):
    return np.float32(v)


def rope_params(cfg):
    """transformers 5's rope_parameters, else 4's rope_scaling, else {}."""
    d = cfg.get("rope_parameters")
    if not isinstance(d, dict):
        d = cfg.get("rope_scaling") or {}
    return d


def rope_inv_freq(cfg, head_dim, default_theta):
    """inv_freq as transformers' rope_init_fn computes it, in float32
    (modeling_rope_utils: _compute_default / _linear_scaling / _llama3)."""
    rp = rope_params(cfg)
    theta = cfg.get("rope_theta")
    if rp.get("rope_theta") is not None:
        theta = rp["rope_theta"]
    if theta is None:
        theta = default_theta
    inv = (f32(1.0) / (f32(theta) ** (np.arange(0, head_dim, 2, dtype=np.float32)
                                      / f32(head_dim)))).astype(np.float32)
    kind = rp.get("rope_type", rp.get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return (inv / f32(rp["factor"])).astype(np.float32)
    if kind == "llama3":
        factor = f32(rp["factor"])
        low, high = rp["low_freq_factor"], rp["high_freq_factor"]
        old = rp["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        # torch: scalar / tensor is tensor.reciprocal() * scalar, in float32
        wavelen = ((f32(1.0) / inv) * f32(2 * np.pi)).astype(np.float32)
        llama = np.where(wavelen > f32(low_wl), inv / factor, inv).astype(np.float32)
        smooth = (((f32(1.0) / wavelen) * f32(old) - f32(low)) / f32(high - low)).astype(np.float32)
        smoothed = ((f32(1.0) - smooth) * llama / factor + smooth * llama).astype(np.float32)
        medium = ~(wavelen < f32(high_wl)) & ~(wavelen > f32(low_wl))
        return np.where(medium, smoothed, llama).astype(np.float32)
    raise SystemExit("hf_forward: rope type %r is not supported" % kind)


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
        self.arch = ARCH[cfg["model_type"]]
        self.H = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.hd = cfg.get("head_dim") or self.H // self.nh
        self.eps = cfg.get("rms_norm_eps") or self.arch["eps"]
        self.inv_freq = rope_inv_freq(cfg, self.hd, self.arch["theta"])
        self.windows = [sliding_window(cfg, self.arch, l) for l in range(cfg["num_hidden_layers"])]
        bias = self.arch["bias"]
        self.bias = {"qkv": ("q", "k", "v"), "none": (),
                     "config": ("q", "k", "v", "o") if cfg.get("attention_bias") else ()}[bias]

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

    def linear(self, x, name, bias=False):
        y = x @ self.w(name + ".weight").T
        return y + self.w(name + ".bias") if bias else y

    def attention(self, l, a, pos):
        p = "model.layers.%d.self_attn." % l
        T = a.shape[0]
        q = self.linear(a, p + "q_proj", "q" in self.bias)
        k = self.linear(a, p + "k_proj", "k" in self.bias)
        v = self.linear(a, p + "v_proj", "v" in self.bias)
        q = q.reshape(T, self.nh, self.hd)
        k = k.reshape(T, self.nkv, self.hd)
        if self.arch["qk_norm"]:
            q, k = self.arch["qk_norm"](self, p, q, k)
        q = rope_neox(q, pos, self.inv_freq)
        k = rope_neox(k, pos, self.inv_freq)
        v = v.reshape(T, self.nkv, self.hd)
        rep = self.nh // self.nkv
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.float32(np.sqrt(self.hd))
        i, j = np.arange(T)[:, None], np.arange(T)[None, :]
        masked = j > i
        if self.windows[l]:
            # transformers' sliding_window_overlay: key j is kept when j > i - window
            masked |= j <= i - self.windows[l]
        s = np.where(masked[None], -np.inf, s)
        o = np.einsum("hts,shd->thd", softmax(s, -1), v).reshape(T, self.nh * self.hd)
        return self.linear(o.astype(np.float32), p + "o_proj", "o" in self.bias)

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
        if self.cfg.get("tie_word_embeddings", False):
            head = self.w("model.embed_tokens.weight")
        else:
            head = self.w("lm_head.weight")
        return (x @ head.T).astype(np.float32)

    def greedy(self, ids, n):
        ids = list(ids)
        out = []
        for _ in range(n):
            nxt = int(np.argmax(self.forward(ids)[-1]))
            out.append(nxt)
            ids.append(nxt)
        return out


def sliding_window(cfg, arch, layer):
    """The window of one layer (None: full causal attention), as the family's
    config and attention classes decide it."""
    rule = arch["window"]
    if rule is None:
        return None
    w = cfg["sliding_window"] if "sliding_window" in cfg else arch["default_window"]
    if rule == "all":                       # Mistral, Mixtral: every layer
        return w
    # Qwen2/3(-MoE): only with use_sliding_window, layers >= max_window_layers;
    # transformers 5 writes the outcome as layer_types
    if "layer_types" in cfg:
        return w if cfg["layer_types"][layer] == "sliding_attention" else None
    if not cfg.get("use_sliding_window", False) or w is None:
        return None
    return w if layer >= cfg.get("max_window_layers", 28) else None


# ---- per-family pieces ----------------------------------------------------

def qk_norm_full(m, p, q, k):
    """OLMoE: RMSNorm over the whole projection, before the head split."""
    T = q.shape[0]
    q = rmsnorm(q.reshape(T, -1), m.w(p + "q_norm.weight"), m.eps)
    k = rmsnorm(k.reshape(T, -1), m.w(p + "k_norm.weight"), m.eps)
    return q.reshape(T, m.nh, m.hd), k.reshape(T, m.nkv, m.hd)


def qk_norm_head(m, p, q, k):
    """Qwen3, Qwen3-MoE: RMSNorm of each head ([head_dim] weights)."""
    return (rmsnorm(q, m.w(p + "q_norm.weight"), m.eps),
            rmsnorm(k, m.w(p + "k_norm.weight"), m.eps))


def mlp_dense(m, l, x, router):
    """LlamaMLP: down(silu(gate(x)) * up(x))."""
    p = "model.layers.%d.mlp." % l
    return m.linear(silu(m.linear(x, p + "gate_proj")) * m.linear(x, p + "up_proj"),
                    p + "down_proj").astype(np.float32)


def moe(m, l, x, router):
    """Sparse MoE block: softmax over all experts (float32), top-k, renormalised
    always (Mixtral) or with norm_topk_prob (OLMoE, Qwen3-MoE); SwiGLU experts,
    per-expert tensors or transformers 5's fused ones (experts.gate_up_proj
    [E, 2I, H], gate rows first; experts.down_proj [E, H, I])."""
    a = m.arch
    p = "model.layers.%d.%s." % (l, a["block"])
    E = m.cfg.get("num_experts") or m.cfg["num_local_experts"]
    K = m.cfg["num_experts_per_tok"]
    I = m.cfg[a["inter_key"]]
    if p + "gate.weight" not in m.t:       # transformers 5 saves Mixtral's block as mlp
        p = "model.layers.%d.mlp." % l
    logits = x @ m.w(p + "gate.weight").T
    if router is not None:
        router.append(logits.astype(np.float32))
    prob = softmax(logits.astype(np.float32), -1)
    out = np.zeros_like(x)
    fused = p + "experts.gate_up_proj" in m.t
    g_name, u_name, d_name = a["experts"]
    for t in range(x.shape[0]):
        order = sorted(range(E), key=lambda e: (-prob[t, e], e))[:K]
        w = prob[t, order]
        if a["renorm"] == "always" or m.cfg.get("norm_topk_prob"):
            w = w / np.sum(w)
        for e, we in zip(order, w):
            if fused:
                gu = m.w(p + "experts.gate_up_proj")[e]
                g, u = x[t] @ gu[:I].T, x[t] @ gu[I:].T
                d = m.w(p + "experts.down_proj")[e]
            else:
                q = p + "experts.%d." % e
                g = x[t] @ m.w(q + g_name + ".weight").T
                u = x[t] @ m.w(q + u_name + ".weight").T
                d = m.w(q + d_name + ".weight")
            out[t] += we * ((silu(g) * u) @ d.T)
    return out.astype(np.float32)


# One row per model_type. qk_norm: None / per head / over the projection;
# bias: which of q/k/v/o_proj have one ("qkv": always q, k, v as Qwen2;
# "config": all four when attention_bias); window: None, "all" layers
# (sliding_window, default_window when the key is absent) or "qwen"
# (use_sliding_window, layers >= max_window_layers); eps / theta: the config
# class defaults of rms_norm_eps and rope_theta.
DENSE = {"mlp": mlp_dense}
PROJ = ("gate_proj", "up_proj", "down_proj")
ARCH = {
    "llama": dict(DENSE, qk_norm=None, bias="config", window=None, eps=1e-6, theta=10000.0),
    "mistral": dict(DENSE, qk_norm=None, bias="none", window="all", default_window=4096,
                    eps=1e-6, theta=10000.0),
    "qwen2": dict(DENSE, qk_norm=None, bias="qkv", window="qwen", default_window=4096,
                  eps=1e-6, theta=10000.0),
    "qwen3": dict(DENSE, qk_norm=qk_norm_head, bias="config", window="qwen",
                  default_window=4096, eps=1e-6, theta=10000.0),
    "mixtral": dict(mlp=moe, qk_norm=None, bias="none", window="all", default_window=None,
                    eps=1e-5, theta=1e6, block="block_sparse_moe", experts=("w1", "w3", "w2"),
                    renorm="always", inter_key="intermediate_size"),
    "qwen3_moe": dict(mlp=moe, qk_norm=qk_norm_head, bias="config", window="qwen",
                      default_window=4096, eps=1e-6, theta=10000.0, block="mlp", experts=PROJ,
                      renorm="config", inter_key="moe_intermediate_size"),
    "olmoe": dict(mlp=moe, qk_norm=qk_norm_full, bias="config", window=None, eps=1e-5,
                  theta=10000.0, block="mlp", experts=PROJ, renorm="config",
                  inter_key="intermediate_size"),
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
