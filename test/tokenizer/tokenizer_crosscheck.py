#!/usr/bin/env python3
"""Cross-check `hxq tokenize` against an independent re-implementation of the
HF `tokenizers` byte-level BPE pipeline (not run by `make test`).

The reference uses Python's `regex` module (whose Unicode \\s is the
White_Space property, as Oniguruma's is in HF), unicodedata NFC, leftmost-
longest added-token splitting and a naive lowest-rank-first BPE. It first
checks itself against test/fixtures/golden/tokenizer_golden.json, then
compares ids on random strings drawn from letters, digits, marks, exotic
whitespace (U+0085, U+180E, U+2028, U+3000 ...), emoji and added tokens.

usage: python3 test/tokenizer/tokenizer_crosscheck.py TOKENIZER_JSON [N [SEED]]
(needs python3-regex; run from the repository root after `make`)
"""
import json
import random
import subprocess
import sys
import tempfile
import unicodedata

import regex

GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
POOL = list("aZé ' \t\n\r!?.,-0123456789") + [
    '\u0085', '\u00a0', '\u1680', '\u180e', '\u2003', '\u2028', '\u2029', '\u202f', '\u3000',
    '\u0301', '\u0308', 'ж', 'Ω', '中', '日', '\uac00', '\u1100', '\u1161', '٣', '３', 'Ⅻ', '½',
    '²', '🙂', '\u200d', 'ﬁ', 'Ｆ', "'s", "'S", "'ll", '<|endoftext|>', '|||IP_ADDRESS|||',
    '  ', '    ', '\x00', '\x0b', '\x0c', '\x1c', '\x1f', '\u061c', '\u2060', '\ufeff', 'ǅ', 'ʰ',
    '\u0e31', '\u0300']


class Reference:
    def __init__(self, path):
        d = json.load(open(path, encoding='utf-8'))
        self.vocab = d['model']['vocab']
        self.ranks = {}
        for i, m in enumerate(d['model']['merges']):
            a, b = m.split(' ') if isinstance(m, str) else m
            self.ranks[(a, b)] = i
        added = sorted(d['added_tokens'], key=lambda a: -len(a['content']))
        self.raw = [a for a in added if not a['normalized']]
        self.norm = [a for a in added if a['normalized']]
        bs = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) +
              list(range(ord('®'), ord('ÿ') + 1)))
        cs, n = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + n)
                n += 1
        self.b2u = {b: chr(c) for b, c in zip(bs, cs)}

    @staticmethod
    def split(text, toks):
        out, i, start = [], 0, 0
        while i < len(text):
            hit = next((a for a in toks if text.startswith(a['content'], i)), None)
            if hit:
                out += [text[start:i], hit['id']]
                i += len(hit['content'])
                start = i
            else:
                i += 1
        return out + [text[start:]]

    def bpe(self, word):
        syms = [self.b2u[b] for b in word.encode()]
        while len(syms) > 1:
            best = min(range(len(syms) - 1),
                       key=lambda i: (self.ranks.get((syms[i], syms[i + 1]), 1 << 30), i))
            if (syms[best], syms[best + 1]) not in self.ranks:
                break
            syms[best:best + 2] = [syms[best] + syms[best + 1]]
        return [self.vocab[s] for s in syms]

    def encode(self, text):
        ids = []
        for p in self.split(text, self.raw):
            if isinstance(p, int):
                ids.append(p)
                continue
            for q in self.split(unicodedata.normalize('NFC', p), self.norm):
                if isinstance(q, int):
                    ids.append(q)
                else:
                    for w in GPT2.findall(q):
                        ids.extend(self.bpe(w))
        return ids


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    ref = Reference(path)
    golden = json.load(open('test/fixtures/golden/tokenizer_golden.json', encoding='utf-8'))
    key = 'olmoe_ids' if 'allenai' in path else 'tiny_ids'
    ok = sum(ref.encode(e['text']) == e[key] for e in golden)
    print(f'reference vs golden: {ok}/{len(golden)}')
    bad = 0
    with tempfile.NamedTemporaryFile() as f:
        for _ in range(n):
            text = ''.join(random.choice(POOL) for _ in range(random.randint(0, 40)))
            f.seek(0)
            f.truncate()
            f.write(text.encode())
            f.flush()
            r = subprocess.run(['build/hxq', 'tokenize', '--tokenizer', path, '--json', '--file',
                                f.name], capture_output=True, check=True)
            got, want = json.loads(r.stdout)['ids'], ref.encode(text)
            if got != want:
                bad += 1
                print('MISMATCH', repr(text), got, want)
    print(f'random strings: {n} checked, {bad} mismatches')
    return 1 if bad or ok != len(golden) else 0


if __name__ == '__main__':
    sys.exit(main())
