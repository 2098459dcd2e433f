/*
 * hxq_tokenizer.h - Hugging Face tokenizer.json (BPE: byte-level like
 * GPT-2 / Llama-3 / Qwen, SentencePiece-style like Llama-2 / Mistral) and
 * chat templates: the tokenizer module's public header.
 *
 * Encoding follows HF `tokenizers` exactly:
 *   1. split on added tokens with normalized=false (leftmost-longest),
 *   2. run the normalizer on the other pieces, split them on added tokens
 *      with normalized=true (leftmost-longest),
 *   3. run the pre-tokenizer steps (the file's Oniguruma regexes run on
 *      PCRE2, translated so that they match the same), then BPE on each
 *      word (byte fallback, unk, merges by lowest rank, leftmost first),
 *   4. with hxq_tokenizer_encode_special(), the post-processor's tokens.
 * Decoding runs the decoder steps (ByteLevel, ByteFallback, Metaspace ...);
 * invalid UTF-8 becomes U+FFFD as HF does.
 *
 * Supported: normalizers Sequence, NFC, NFKC, NFD, NFKD, Lowercase, Strip,
 * Prepend, Replace; pre-tokenizers Sequence, ByteLevel, Split, Metaspace,
 * Digits, Punctuation, Whitespace, WhitespaceSplit, CharDelimiterSplit,
 * BertPreTokenizer; model BPE (byte_fallback, ignore_merges, fuse_unk,
 * unk_token; no dropout, no subword prefix/suffix); decoders Sequence,
 * ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace; post-processors
 * TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing,
 * Sequence. Anything else (a type, a field, a regex construct) is
 * HXQ_ERR_UNSUPPORTED with a message naming it. See docs/TOKENIZER.md.
 *
 * Depends on: common, io (file reading), utf8proc, PCRE2, cJSON.
 * Thread-safety: a loaded hxq_tokenizer is immutable; every function that
 * takes a const hxq_tokenizer* may be called from several threads at once.
 * A stream decoder belongs to one thread.
 */
#ifndef HXQ_TOKENIZER_H
#define HXQ_TOKENIZER_H

#include "hxq_common.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hxq_tokenizer hxq_tokenizer;

/* ---- loading ------------------------------------------------------------ */

/*! hxq_tokenizer_load() :
 *  Loads a tokenizer from a model folder (reads <dir>/tokenizer.json and,
 *  when present, <dir>/tokenizer_config.json, <dir>/special_tokens_map.json
 *  and <dir>/chat_template.jinja) or from a tokenizer.json file path (then
 *  the config files next to it are NOT read: no chat template, eos from the
 *  well-known special tokens only, see hxq_tokenizer_eos_ids()).
 *  @return HXQ_OK; HXQ_ERR_IO (cannot read), HXQ_ERR_FORMAT (malformed JSON,
 *  missing vocab, merges with unknown tokens, ids out of range ...: the
 *  message names the file and the problem), HXQ_ERR_UNSUPPORTED (unknown
 *  normalizer / pre-tokenizer / model / decoder type, named), HXQ_ERR_NOMEM.
 *  *out is set only on success; free it with hxq_tokenizer_free(). */
int hxq_tokenizer_load(const char *path, hxq_tokenizer **out, hxq_error *err);

/*! hxq_tokenizer_load_json() :
 *  Loads a tokenizer from the bytes of a tokenizer.json held in memory
 *  (need not be NUL-terminated). name labels error messages (e.g. the file
 *  name; NULL means "tokenizer.json"). No config is read: see
 *  hxq_tokenizer_load_config() to add one.
 *  @return as hxq_tokenizer_load(), without HXQ_ERR_IO. */
int hxq_tokenizer_load_json(const char *json, size_t len, const char *name,
                            hxq_tokenizer **out, hxq_error *err);

/*! hxq_tokenizer_load_config() :
 *  Applies a tokenizer_config.json held in memory to tok: bos_token,
 *  eos_token (strings or {"content": ...} objects), add_bos_token and
 *  chat_template (a string, or a list of {name, template} where "default"
 *  is used), and the other special tokens a chat template may use
 *  (unk_token, pad_token ...). The template is not checked here: its
 *  errors are reported by hxq_tokenizer_chat_render(). name labels
 *  messages.
 *  @return HXQ_OK; HXQ_ERR_FORMAT (bad JSON, wrong field types, a bos/eos
 *  token that is not in the vocabulary); HXQ_ERR_NOMEM. On failure tok is
 *  unchanged. This modifies tok: call it before sharing tok between
 *  threads. Fields absent from json keep their values. */
int hxq_tokenizer_load_config(hxq_tokenizer *tok, const char *json, size_t len,
                              const char *name, hxq_error *err);

/*! hxq_tokenizer_free() : releases everything. NULL is a no-op. */
void hxq_tokenizer_free(hxq_tokenizer *tok);

/* ---- vocabulary ------------------------------------------------------- */

/*! hxq_tokenizer_vocab_size() : 1 + the largest id of the vocabulary and
 *  the added tokens (ids below it may be unused holes). */
int32_t hxq_tokenizer_vocab_size(const hxq_tokenizer *tok);

/*! hxq_tokenizer_token_bytes() :
 *  The bytes id contributes to a decoded text when it is not the first
 *  token (ByteLevel: "Ġworld" -> " world"; Metaspace / Replace: "▁world" ->
 *  " world"; ByteFallback: "<0x0A>" -> "\n", possibly part of a UTF-8
 *  sequence; an added token as the decoder turns its content). Not
 *  NUL-terminated; *len receives the length. Returns NULL (and *len = 0)
 *  for an id outside the vocabulary or a hole. The pointer lives as long
 *  as tok. */
const char *hxq_tokenizer_token_bytes(const hxq_tokenizer *tok, int32_t id,
                                      size_t *len);

/*! hxq_tokenizer_token_str() :
 *  The token's string as tokenizer.json spells it ("Ġworld"),
 *  NUL-terminated UTF-8, or NULL for an unknown id. Lives as long as tok. */
const char *hxq_tokenizer_token_str(const hxq_tokenizer *tok, int32_t id);

/*! hxq_tokenizer_token_id() :
 *  The id of a token string (vocabulary or added token, exact spelling).
 *  @return the id, or -1 when absent. */
int32_t hxq_tokenizer_token_id(const hxq_tokenizer *tok, const char *token);

/*! hxq_tokenizer_is_special() : 1 when id is an added token marked
 *  "special": true, else 0. */
int hxq_tokenizer_is_special(const hxq_tokenizer *tok, int32_t id);

/*! hxq_tokenizer_eos_ids() :
 *  The end-of-sequence ids: eos_token from tokenizer_config.json /
 *  special_tokens_map.json when loaded, otherwise the special added token
 *  "<|endoftext|>", "</s>", "<|im_end|>" or "<|eot_id|>" if one exists.
 *  *ids points into tok (may be NULL when the count is 0).
 *  @return the number of ids (0 when none is known). */
int hxq_tokenizer_eos_ids(const hxq_tokenizer *tok, const int32_t **ids);

/*! hxq_tokenizer_bos_id() :
 *  The bos_token of tokenizer_config.json / special_tokens_map.json when
 *  one names it (null there: none), otherwise the first token the
 *  post-processor puts in front of a text; -1 when there is none. */
int32_t hxq_tokenizer_bos_id(const hxq_tokenizer *tok);

/*! hxq_tokenizer_adds_bos() : 1 when hxq_tokenizer_encode_special() starts
 *  every text with hxq_tokenizer_bos_id(), else 0. */
int hxq_tokenizer_adds_bos(const hxq_tokenizer *tok);

/* ---- encoding / decoding ---------------------------------------------- */

/*! hxq_tokenizer_encode() :
 *  Encodes len bytes of UTF-8 text (may contain NUL bytes) into token ids
 *  as HF `tokenizer.encode(text, add_special_tokens=False)` does: special
 *  tokens written in the text become their ids; no BOS/EOS is added.
 *  *ids is malloc'd (owned by the caller, free() it; a valid pointer even
 *  when *n_ids is 0), *n_ids its length.
 *  @return HXQ_OK; HXQ_ERR_INVALID (text is not valid UTF-8: the message
 *  gives the byte offset); HXQ_ERR_RANGE (regex engine limit);
 *  HXQ_ERR_NOMEM. Outputs are set only on success. Thread-safe. */
int hxq_tokenizer_encode(const hxq_tokenizer *tok, const char *text, size_t len,
                         int32_t **ids, int64_t *n_ids, hxq_error *err);

/*! hxq_tokenizer_encode_special() :
 *  As hxq_tokenizer_encode(), then the special tokens that HF
 *  `encode(text, add_special_tokens=True)` puts around one text: those of
 *  tokenizer.json's post_processor (TemplateProcessing's "single" template,
 *  Roberta/Bert's cls and sep, none for ByteLevel). When
 *  tokenizer_config.json sets add_bos_token (add_eos_token), the tokens in
 *  front (behind) are instead the bos (eos) token or nothing, as
 *  transformers rebuilds the template from these flags. This is what a
 *  plain prompt or an evaluation text gets; a rendered chat template
 *  already holds its special tokens and goes to hxq_tokenizer_encode().
 *  @return as hxq_tokenizer_encode(). */
int hxq_tokenizer_encode_special(const hxq_tokenizer *tok, const char *text, size_t len,
                                 int32_t **ids, int64_t *n_ids, hxq_error *err);

/* Decode flags. */
#define HXQ_DECODE_SKIP_SPECIAL 1 /* drop special added tokens (HF default) */

/*! hxq_tokenizer_decode() :
 *  Decodes n ids as HF `decode(ids, skip_special_tokens)` does into a
 *  malloc'd NUL-terminated UTF-8 string (*text, owned by the caller; *len
 *  its length without the NUL, may be NULL). Ids outside the vocabulary are
 *  skipped, as HF does. Invalid UTF-8 becomes U+FFFD as the decoder says
 *  (ByteLevel: from_utf8_lossy; ByteFallback: one per byte).
 *  @return HXQ_OK; HXQ_ERR_INVALID (n < 0 or ids NULL with n > 0);
 *  HXQ_ERR_NOMEM. */
int hxq_tokenizer_decode(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                         int flags, char **text, size_t *len, hxq_error *err);

/* ---- streaming decode ------------------------------------------------- */

typedef struct hxq_tokenizer_stream hxq_tokenizer_stream;

/*! hxq_tokenizer_stream_create() :
 *  A decoder fed one id at a time that emits only text no later id can
 *  change: it holds back an incomplete UTF-8 sequence, a run of <0xXX>
 *  byte tokens (ByteFallback), characters a Strip decoder may still remove
 *  and the possible start of a Replace match. Concatenating everything it
 *  emits (flush included) equals hxq_tokenizer_decode() of the same ids
 *  and flags (decode is this stream fed every id). tok must outlive it.
 *  @return HXQ_OK or HXQ_ERR_NOMEM; *out set only on success. */
int hxq_tokenizer_stream_create(const hxq_tokenizer *tok, int flags,
                                hxq_tokenizer_stream **out, hxq_error *err);

/*! hxq_tokenizer_stream_push() :
 *  Feeds one id. *text receives the newly final UTF-8 text (NUL-terminated;
 *  may be empty), *len its length; the pointer is valid until the next
 *  call on this stream.
 *  @return HXQ_OK or HXQ_ERR_NOMEM. Unknown ids emit nothing. */
int hxq_tokenizer_stream_push(hxq_tokenizer_stream *s, int32_t id,
                              const char **text, size_t *len, hxq_error *err);

/*! hxq_tokenizer_stream_flush() :
 *  Ends the text: emits what was held back as the end of a text decodes it
 *  (an incomplete sequence as U+FFFD) and resets the stream for reuse.
 *  @return HXQ_OK or HXQ_ERR_NOMEM. */
int hxq_tokenizer_stream_flush(hxq_tokenizer_stream *s, const char **text,
                               size_t *len, hxq_error *err);

/*! hxq_tokenizer_stream_free() : NULL is a no-op. */
void hxq_tokenizer_stream_free(hxq_tokenizer_stream *s);

/* ---- chat templates --------------------------------------------------- */
/* Chat templates are rendered by a small interpreter of the Jinja subset
 * that Hugging Face chat templates use, byte for byte as jinja2 does in
 * transformers' environment (trim_blocks, lstrip_blocks, loop controls,
 * transformers' tojson, raise_exception and strftime_now). The template is
 * untrusted input: recursion, loop work, memory and output are bounded and
 * nothing outside the render variables is reachable. docs/TOKENIZER.md
 * lists the supported statements, filters, tests and methods; a template
 * that needs anything else fails with HXQ_ERR_UNSUPPORTED naming the line
 * and the construct. */

typedef struct hxq_chat_msg {
    const char *role;    /* "system", "user", "assistant", "tool" ... as the template expects */
    const char *content; /* UTF-8, NUL-terminated */
} hxq_chat_msg;

/* Options of a rendering; zero-initialise, then set what you need. */
typedef struct hxq_chat_opts {
    int add_generation_prompt; /* the template's add_generation_prompt        */
    const char *vars_json;     /* NULL, or a JSON object of more variables,
                                  set last (so they may replace messages,
                                  bos_token ...): {"enable_thinking": false} */
    int has_now;               /* 1: strftime_now() formats `now`; 0: the
                                  current local time, as transformers does   */
    int64_t now;               /* seconds since 1970-01-01, shown as UTC      */
} hxq_chat_opts;

/*! hxq_tokenizer_chat_template() :
 *  The chat template's source text (tokenizer_config.json's chat_template,
 *  or chat_template.jinja), NUL-terminated, or NULL when tok has none. The
 *  pointer lives as long as tok. */
const char *hxq_tokenizer_chat_template(const hxq_tokenizer *tok);

/*! hxq_tokenizer_chat_render_opts() :
 *  Renders n messages with the model's chat template as transformers'
 *  apply_chat_template(messages, tokenize=False, **opts) does. Variables:
 *  messages (a list of {role, content}), add_generation_prompt, tools and
 *  documents (None), bos_token, eos_token, unk_token, pad_token, sep_token,
 *  cls_token, mask_token (those tokenizer_config.json sets), then the
 *  entries of opts->vars_json. opts may be NULL (all zero). The result is
 *  text for hxq_tokenizer_encode(): it holds the template's own BOS, so
 *  transformers' tokenize=True ids are its encoding with no special tokens
 *  added. *out is malloc'd, NUL-terminated, owned by the caller; *len (may
 *  be NULL) is its length.
 *  @return HXQ_OK; HXQ_ERR_UNSUPPORTED (no chat template, or one that uses
 *  a construct outside the subset: the message names the line and the
 *  construct); HXQ_ERR_FORMAT (a template syntax error, or an error jinja2
 *  raises too, such as an attribute of an undefined value; also bad
 *  vars_json); HXQ_ERR_INVALID (a message with a NULL role or content, or
 *  content that is not UTF-8; n < 0; the template called raise_exception,
 *  e.g. roles that do not alternate: the message quotes it); HXQ_ERR_RANGE
 *  (a work, memory, depth or output limit); HXQ_ERR_NOMEM. Outputs are set
 *  only on success. Thread-safe. */
int hxq_tokenizer_chat_render_opts(const hxq_tokenizer *tok, const hxq_chat_msg *msgs,
                                   int64_t n, const hxq_chat_opts *opts, char **out,
                                   size_t *len, hxq_error *err);

/*! hxq_tokenizer_chat_render() :
 *  hxq_tokenizer_chat_render_opts() with only add_generation_prompt set. */
int hxq_tokenizer_chat_render(const hxq_tokenizer *tok, const hxq_chat_msg *msgs,
                              int64_t n, int add_generation_prompt, char **out,
                              size_t *len, hxq_error *err);

/*! hxq_tokenizer_template_render() :
 *  Renders a template given as text (len bytes, need not be
 *  NUL-terminated) with no tokenizer: the variables are
 *  add_generation_prompt, tools and documents (None), then every entry of
 *  opts->vars_json (messages, bos_token ... for a chat). For tests and
 *  debugging templates. Returns and outputs as
 *  hxq_tokenizer_chat_render_opts(). */
int hxq_tokenizer_template_render(const char *tmpl, size_t len, const hxq_chat_opts *opts,
                                  char **out, size_t *out_len, hxq_error *err);

/* ---- prompts ------------------------------------------------------------ */

/*! hxq_tokenizer_encode_prompt() :
 *  The ids a generation from the raw text[0..len) starts with:
 *  hxq_tokenizer_encode_special(): the post-processor's special tokens
 *  around the text, as HF's tokenizer(prompt) (`hxq run --prompt`,
 *  `/v1/completions`).
 *  *ids is malloc'd (the caller frees it), *n_ids >= 1.
 *  @return HXQ_OK; HXQ_ERR_INVALID (not UTF-8, or no tokens at all);
 *  HXQ_ERR_RANGE, HXQ_ERR_NOMEM as hxq_tokenizer_encode(). Outputs are
 *  set only on success. Thread-safe. */
int hxq_tokenizer_encode_prompt(const hxq_tokenizer *tok, const char *text, size_t len,
                                int32_t **ids, int64_t *n_ids, hxq_error *err);

/*! hxq_tokenizer_encode_chat() :
 *  The ids a reply to msgs[0..n) starts from: the chat template rendered
 *  with the assistant generation prompt (hxq_tokenizer_chat_render()),
 *  then encoded without an extra BOS (the template writes its own).
 *  *ids is malloc'd (the caller frees it), *n_ids >= 1.
 *  @return HXQ_OK; the errors of hxq_tokenizer_chat_render() and
 *  hxq_tokenizer_encode(); HXQ_ERR_INVALID when nothing is rendered.
 *  Outputs are set only on success. Thread-safe. */
int hxq_tokenizer_encode_chat(const hxq_tokenizer *tok, const hxq_chat_msg *msgs, int64_t n,
                              int32_t **ids, int64_t *n_ids, hxq_error *err);

#endif /* HXQ_TOKENIZER_H */
