#!/usr/bin/env python3
"""make_mc_goldens.py - small multiple-choice test sets made from Tiny Shakespeare, and their
expected scores under lm-evaluation-harness 0.4's protocol, computed here independently of
hxq's C code: the text protocol and the metrics are re-implemented from lm-eval's Python
(lm_eval/tasks/hellaswag/utils.py, lm_eval/tasks/arc/arc_easy.yaml, lm_eval/api/task.py
process_results, lm_eval/api/metrics.py mean_stderr, lm_eval/models/huggingface.py
_encode_pair / loglikelihood / _loglikelihood_tokens) and the log-likelihoods come from the
numpy forward pass (hf_forward.py, itself checked against transformers in `make test`).
Token ids come from `hxq tokenize --json` (the tokenizer is checked against Hugging Face's
elsewhere: test/tokenizer).

Writes test/fixtures/mc/{hellaswag,arc,mc}.jsonl (rows in the published formats: the
HellaSwag and ai2_arc datasets of the Hugging Face hub, and hxq's generic {context, choices,
gold}) and test/fixtures/mc/golden.json: per set the documents after the protocol (context,
choices, gold, context ids, continuation ids), and per model (models/tiny-olmoe, dense, and
models/tiny-olmoe-helix, the reference compressor's HXQ output) the per-choice
log-likelihoods, pred, pred_norm, acc, acc_stderr, acc_norm, acc_norm_stderr, plus the paired
difference helix - dense.

Usage (from the repository root, after `make`):
    /usr/bin/python3 test/reference/make_mc_goldens.py [--hxq build/hxq]
Only numpy and the standard library (Debian: python3-numpy).
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_forward as hf  # noqa: E402
import numpy as np  # noqa: E402

TEXT = "test/fixtures/tinyshakespeare.txt"
OUT = "test/fixtures/mc"
MODELS = ["models/tiny-olmoe", "models/tiny-olmoe-helix"]
TOKENIZER = "models/tiny-olmoe"


# ---- test sets from the play ------------------------------------------------

def speeches(text):
    """[(speaker, [lines])] of the play's speech blocks."""
    out = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if len(lines) >= 2 and lines[0].endswith(":"):
            out.append((lines[0][:-1], lines[1:]))
    return out


def with_gold(rng, gold, others):
    """The choices with gold at a random place; returns (choices, gold index)."""
    choices = list(others)
    g = rng.randrange(len(choices) + 1)
    choices.insert(g, gold)
    return choices, g


def make_hellaswag(sp, rng):
    """HellaSwag rows (activity_label, ctx_a, ctx_b, endings, label as a string): a speech's
    first line, then its second, then the gold third line among three others. Rows 0..9
    carry what preprocess and capitalize must handle."""
    long3 = [s for s in sp if len(s[1]) >= 3]
    rows = []
    for i in range(40):
        who, lines = long3[rng.randrange(len(long3))]
        others = [rng.choice(long3)[1][0] for _ in range(3)]
        ctx_a, ctx_b, gold = lines[0], lines[1], lines[2]
        if i == 0:
            ctx_a = ctx_a + " [title] How to listen [step]"
            gold = "[header] " + gold + " [title] Then stop."
        elif i == 1:
            ctx_b = "wE ARE " + ctx_b.upper()
        elif i == 2:
            ctx_a = ctx_a.replace(" ", "  ", 3) + "   and  more"
            others[0] = "so    many  spaces   here"
        elif i == 3:
            ctx_b = ""
        elif i == 4:
            gold = "  \t" + gold + "  \n"
            others[1] = " [removed] bracket at the start"
        elif i == 5:
            ctx_a = ctx_a + " [unclosed bracket"
            others[2] = "a [span\nover a newline] stays"
        elif i == 6:
            ctx_b = "\u00e9lan \u00c0VEC " + ctx_b + " \u00c9T\u00c9"
            others[0] = "na\u00efve caf\u00e9 \u00e0 la cr\u00e8me"
        elif i == 7:
            ctx_b = "'tIS " + ctx_b
        elif i == 8:
            others[1] = "[gone]"  # empty after preprocess: acc_norm divides by 0
        elif i == 9:
            ctx_b = "\u01c6ungla " + ctx_b  # capitalize title-cases: U+01C5
        choices, g = with_gold(rng, gold, others)
        rows.append({"ind": i, "activity_label": who.title(), "ctx_a": ctx_a,
                     "ctx_b": ctx_b, "ctx": ctx_a + " " + ctx_b, "endings": choices,
                     "source_id": "tinyshakespeare", "split": "val", "split_type": "indomain",
                     "label": str(g)})
    return rows


def make_arc(sp, rng):
    """ARC rows (id, question, choices {text, label}, answerKey): who speaks a line, among
    3, 4 or 5 speakers; labels as letters or as digits "1".."4"."""
    names = sorted({s[0] for s in sp if len(s[0]) < 20})
    rows = []
    for i in range(30):
        who, lines = sp[rng.randrange(len(sp))]
        k = [3, 4, 5, 4, 4, 3, 5, 4, 4, 4][i % 10]
        others = rng.sample([n for n in names if n != who], k - 1)
        choices, g = with_gold(rng, who, others)
        labels = ["1", "2", "3", "4", "5"][:k] if i % 10 in (3, 4, 8) else list("ABCDE")[:k]
        q = "Who says: \"" + lines[0] + "\"?"
        if i == 5:
            q = q + "  "  # trailing blanks inside the context: not at its end
        rows.append({"id": "tinyshakespeare/%d" % i, "question": q,
                     "choices": {"text": choices, "label": labels}, "answerKey": labels[g]})
    return rows


def make_mc(sp, rng):
    """Generic rows {context, choices, gold}: the trailing-whitespace move of lm-eval's
    _encode_pair (a context ending in a space, a newline, blanks), an empty context."""
    rows = []
    tails = [" ", "\n", "\n\n", ":  ", "", "\t \n"]
    long2 = [s for s in sp if len(s[1]) >= 2]
    for i, tail in enumerate(tails):
        who, lines = long2[rng.randrange(len(long2))]
        others = [rng.choice(sp)[1][0] for _ in range(2 + i % 3)]
        context = "" if i == 4 else who + ": " + lines[0] + tail
        choices, g = with_gold(rng, lines[1], others)
        rows.append({"context": context, "choices": choices, "gold": g})
    return rows


# ---- lm-evaluation-harness 0.4 ------------------------------------------------

def hellaswag_preprocess(text):
    """lm_eval/tasks/hellaswag/utils.py preprocess."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def doc_of(task, row):
    """(context, choices without the target delimiter, gold) as lm-eval's task gives them."""
    if task == "hellaswag":
        ctx = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        return (hellaswag_preprocess(row["activity_label"] + ": " + ctx),
                [hellaswag_preprocess(e) for e in row["endings"]], int(row["label"]))
    if task == "arc":
        return ("Question: " + row["question"] + "\nAnswer:", row["choices"]["text"],
                row["choices"]["label"].index(row["answerKey"]))
    return row["context"], row["choices"], row["gold"]


class Tokenizer:
    def __init__(self, hxq, folder):
        self.hxq, self.folder = hxq, folder
        cfg = json.load(open(os.path.join(folder, "tokenizer_config.json")))
        if cfg.get("add_bos_token"):
            raise SystemExit("this script handles tokenizers without a BOS only")
        self.prefix = self.encode(cfg["bos_token"])[0]   # HFLM.prefix_token_id: bos, else eos
        self.cache = {}

    def encode(self, text):
        """HF encode(text, add_special_tokens=False), as hxq tokenize --json prints it."""
        r = subprocess.run([self.hxq, "tokenize", self.folder, "--json", "-"],
                           input=text.encode("utf-8"), capture_output=True, check=True)
        return json.loads(r.stdout)["ids"]

    def __call__(self, text):
        if text not in self.cache:
            self.cache[text] = self.encode(text)
        return self.cache[text]


def encode_pair(tok, context, continuation):
    """HFLM.loglikelihood + _encode_pair: the context's trailing whitespace moves to the
    continuation; continuation ids = encode(whole)[len(encode(context)):]."""
    if context == "":
        return [tok.prefix], tok(continuation)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok(context + continuation)
    ctx = tok(context)
    return ctx, whole[len(ctx):]


def loglikelihood(model, ctx, cont):
    """Sum of log-softmax at the continuation's tokens: the input is (ctx + cont)[:-1]
    (_loglikelihood_tokens), logits row p predicts token p + 1."""
    if not cont:
        return 0.0
    inp = (ctx + cont)[:-1]
    logits = model.forward(inp).astype(np.float64)
    mx = logits.max(axis=-1, keepdims=True)
    lsm = logits - mx - np.log(np.exp(logits - mx).sum(axis=-1, keepdims=True))
    return float(sum(lsm[len(ctx) - 1 + j, t] for j, t in enumerate(cont)))


def mean(arr):
    return sum(arr) / len(arr)


def mean_stderr(arr):
    """lm_eval/api/metrics.py: sample_stddev / sqrt(n)."""
    mu = mean(arr)
    return math.sqrt(sum([(x - mu) ** 2 for x in arr]) / (len(arr) - 1)) / math.sqrt(len(arr))


def score(model, docs):
    """process_results of a multiple_choice task, per document, and the aggregates."""
    items, accs, norms = [], [], []
    for d in docs:
        lls = [loglikelihood(model, d["ctx_ids"], c) for c in d["cont_ids"]]
        completion_len = np.array([float(len(c)) for c in d["choices"]])
        with np.errstate(divide="ignore", invalid="ignore"):
            pred_norm = int(np.argmax(np.array(lls) / completion_len))
        pred = int(np.argmax(lls))
        items.append({"loglikelihoods": lls, "pred": pred, "pred_norm": pred_norm,
                      "gold": d["gold"]})
        accs.append(1.0 if pred == d["gold"] else 0.0)
        norms.append(1.0 if pred_norm == d["gold"] else 0.0)
    return {"n": len(docs), "acc": mean(accs), "acc_stderr": mean_stderr(accs),
            "acc_norm": mean(norms), "acc_norm_stderr": mean_stderr(norms),
            "items": items}, accs, norms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hxq", default="build/hxq")
    a = ap.parse_args()
    sp = speeches(open(TEXT, encoding="utf-8").read())
    rng = random.Random(17)
    sets = {"hellaswag": make_hellaswag(sp, rng), "arc": make_arc(sp, rng),
            "mc": make_mc(sp, rng)}
    os.makedirs(OUT, exist_ok=True)
    tok = Tokenizer(a.hxq, TOKENIZER)
    models = {m: hf.Model.load(m) for m in MODELS}
    golden = {"generator": "test/reference/make_mc_goldens.py",
              "protocol": "lm-evaluation-harness 0.4, zero-shot, no BOS", "sets": {}}
    for task, rows in sets.items():
        path = os.path.join(OUT, task + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        docs = []
        for r in rows:
            context, choices, gold = doc_of(task, r)
            pairs = [encode_pair(tok, context, " " + c) for c in choices]
            assert all(p[0] == pairs[0][0] for p in pairs)
            docs.append({"context": context, "choices": choices, "gold": gold,
                         "ctx_ids": pairs[0][0], "cont_ids": [p[1] for p in pairs]})
        entry = {"file": path, "task": task, "docs": docs, "models": {}}
        per = {}
        for name, m in models.items():
            entry["models"][name], accs, norms = score(m, docs)
            per[name] = (accs, norms)
            print("%s %s: acc %.4f acc_norm %.4f" % (task, name, entry["models"][name]["acc"],
                                                      entry["models"][name]["acc_norm"]))
        (da, dn), (ra, rn) = per[MODELS[1]], per[MODELS[0]]
        d_acc = [x - y for x, y in zip(da, ra)]
        d_norm = [x - y for x, y in zip(dn, rn)]
        entry["delta"] = {"model": MODELS[1], "reference": MODELS[0], "n": len(docs),
                          "acc": mean(d_acc), "acc_stderr": mean_stderr(d_acc),
                          "acc_norm": mean(d_norm), "acc_norm_stderr": mean_stderr(d_norm)}
        golden["sets"][task] = entry
    with open(os.path.join(OUT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
