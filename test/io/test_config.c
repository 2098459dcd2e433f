/* test_config.c - config.json in transformers 4 and 5 spellings, the
 * defaults, and the errors for values of the wrong type. */
#include "hxq_io.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <string.h>

static int parse(const char *json, hxq_config *c, hxq_error *err)
{
    memset(err, 0, sizeof(*err));
    return hxq_config_parse(json, "m/config.json", c, err);
}

START_TEST(tiny_olmoe_v5_config)
{
    hxq_config c;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_msg(hxq_config_load(HXQ_FIXTURE_DENSE, &c, &err) == HXQ_OK, "%s", err.msg);
    /* compare with an independent read of the same file */
    size_t len;
    char *text = (char *)hxq_test_read_file(HXQ_FIXTURE_DENSE "/config.json", &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    cJSON *j = cJSON_Parse(text);
    ck_assert_ptr_nonnull(j);
#define NUM(k) ((int64_t)cJSON_GetObjectItem(j, k)->valuedouble)
    ck_assert_int_eq(c.vocab_size, NUM("vocab_size"));
    ck_assert_int_eq(c.hidden_size, NUM("hidden_size"));
    ck_assert_int_eq(c.intermediate_size, NUM("intermediate_size"));
    ck_assert_int_eq(c.num_layers, NUM("num_hidden_layers"));
    ck_assert_int_eq(c.num_heads, NUM("num_attention_heads"));
    ck_assert_int_eq(c.num_kv_heads, NUM("num_key_value_heads"));
    ck_assert_int_eq(c.num_experts, NUM("num_experts"));
    ck_assert_int_eq(c.num_experts_per_tok, NUM("num_experts_per_tok"));
    ck_assert_int_eq(c.max_position_embeddings, NUM("max_position_embeddings"));
    ck_assert_int_eq(c.head_dim, NUM("hidden_size") / NUM("num_attention_heads"));
    ck_assert_int_eq(c.n_eos, 1);
    ck_assert_int_eq(c.eos_token_ids[0], NUM("eos_token_id"));
    ck_assert_int_eq(c.pad_token_id, NUM("pad_token_id"));
#undef NUM
    ck_assert_int_eq(c.bos_token_id, -1);                         /* null */
    ck_assert(c.rms_norm_eps == cJSON_GetObjectItem(j, "rms_norm_eps")->valuedouble);
    ck_assert(c.rope_theta ==
              cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rope_parameters"), "rope_theta")->valuedouble);
    ck_assert_str_eq(c.model_type, "olmoe");
    ck_assert_str_eq(c.arch, "OlmoeForCausalLM");
    ck_assert_str_eq(c.dtype, cJSON_GetObjectItem(j, "dtype")->valuestring);
    ck_assert_int_eq(c.norm_topk_prob, cJSON_IsTrue(cJSON_GetObjectItem(j, "norm_topk_prob")));
    ck_assert_int_eq(c.tie_word_embeddings, 0);
    ck_assert_int_eq(c.has_quantization_config, 0);
    cJSON_Delete(j);
    free(text);
}
END_TEST

START_TEST(v4_spellings)
{
    hxq_config c;
    hxq_error err;
    ck_assert_int_eq(parse("{\"rope_theta\": 500000.0, \"torch_dtype\": \"float16\","
                           "\"hidden_size\": 64, \"num_attention_heads\": 4,"
                           "\"num_key_value_heads\": 2, \"eos_token_id\": [7, 9],"
                           "\"num_local_experts\": 8, \"tie_word_embeddings\": true}",
                           &c, &err), HXQ_OK);
    ck_assert(c.rope_theta == 500000.0);
    ck_assert_str_eq(c.dtype, "float16");
    ck_assert_int_eq(c.num_kv_heads, 2);
    ck_assert_int_eq(c.head_dim, 16);
    ck_assert_int_eq(c.n_eos, 2);
    ck_assert_int_eq(c.eos_token_ids[1], 9);
    ck_assert_int_eq(c.num_experts, 8);                           /* Mixtral's name */
    ck_assert_int_eq(c.tie_word_embeddings, 1);
}
END_TEST

/* When both spellings are present the transformers 5 one wins. */
START_TEST(v5_wins_over_v4)
{
    hxq_config c;
    hxq_error err;
    ck_assert_int_eq(parse("{\"rope_theta\": 1.0, \"rope_parameters\": {\"rope_theta\": 2.0},"
                           "\"torch_dtype\": \"float32\", \"dtype\": \"bfloat16\"}", &c, &err),
                     HXQ_OK);
    ck_assert(c.rope_theta == 2.0);
    ck_assert_str_eq(c.dtype, "bfloat16");
    /* rope_parameters without rope_theta keeps the top-level value */
    ck_assert_int_eq(parse("{\"rope_theta\": 3.0, \"rope_parameters\": {\"rope_type\": \"default\"}}",
                           &c, &err), HXQ_OK);
    ck_assert(c.rope_theta == 3.0);
}
END_TEST

START_TEST(defaults)
{
    hxq_config c;
    hxq_error err;
    ck_assert_int_eq(parse("{}", &c, &err), HXQ_OK);
    ck_assert(c.rms_norm_eps == 1e-5);
    ck_assert(c.rope_theta == 10000.0);
    ck_assert_int_eq(c.bos_token_id, -1);
    ck_assert_int_eq(c.pad_token_id, -1);
    ck_assert_int_eq(c.n_eos, 0);
    ck_assert_int_eq(c.num_experts, 0);
    ck_assert_int_eq(c.head_dim, 0);
    ck_assert_str_eq(c.dtype, "");
    ck_assert_str_eq(c.arch, "");
    /* null is "absent"; more than 8 eos ids keep the first 8 */
    ck_assert_int_eq(parse("{\"bos_token_id\": null, \"rms_norm_eps\": null, \"head_dim\": 48,"
                           "\"eos_token_id\": [1,2,3,4,5,6,7,8,9,10]}", &c, &err), HXQ_OK);
    ck_assert_int_eq(c.bos_token_id, -1);
    ck_assert(c.rms_norm_eps == 1e-5);
    ck_assert_int_eq(c.head_dim, 48);                             /* explicit wins */
    ck_assert_int_eq(c.n_eos, 8);
    ck_assert_int_eq(c.eos_token_ids[7], 8);
    ck_assert_int_eq(parse("{\"quantization_config\": {}}", &c, &err), HXQ_OK);
    ck_assert_int_eq(c.has_quantization_config, 1);
}
END_TEST

/* The keys of the Llama, Mistral, Qwen2/3 and Mixtral families. */
START_TEST(family_keys)
{
    hxq_config c;
    hxq_error err;
    /* Llama 3.1: v4 rope_scaling */
    ck_assert_int_eq(parse("{\"model_type\": \"llama\", \"rope_theta\": 500000.0,"
                           "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                           "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                           "\"original_max_position_embeddings\": 8192},"
                           "\"hidden_act\": \"silu\", \"mlp_bias\": false}", &c, &err), HXQ_OK);
    ck_assert_str_eq(c.rope_type, "llama3");
    ck_assert(c.rope_factor == 8.0 && c.rope_low_freq_factor == 1.0 &&
              c.rope_high_freq_factor == 4.0);
    ck_assert_int_eq(c.rope_original_max_pos, 8192);
    ck_assert(c.rope_theta == 500000.0 && c.rope_theta_set && !c.rms_norm_eps_set);
    ck_assert_str_eq(c.hidden_act, "silu");
    ck_assert_int_eq(c.sliding_window, -1);                       /* absent */
    /* v5: rope_parameters holds theta and the scaling; legacy "type" */
    ck_assert_int_eq(parse("{\"rope_parameters\": {\"rope_theta\": 1e6, \"type\": \"linear\","
                           "\"factor\": 2.0}, \"rms_norm_eps\": 1e-6}", &c, &err), HXQ_OK);
    ck_assert_str_eq(c.rope_type, "linear");
    ck_assert(c.rope_factor == 2.0 && c.rope_theta == 1e6 && c.rope_theta_set);
    ck_assert(c.rms_norm_eps == 1e-6 && c.rms_norm_eps_set);
    /* Mistral: a window; null is "no window", distinct from absent */
    ck_assert_int_eq(parse("{\"sliding_window\": 4096, \"head_dim\": 128, \"hidden_size\": 5120,"
                           "\"num_attention_heads\": 32}", &c, &err), HXQ_OK);
    ck_assert_int_eq(c.sliding_window, 4096);
    ck_assert_int_eq(c.head_dim, 128);
    ck_assert_int_eq(parse("{\"sliding_window\": null, \"rope_scaling\": null}", &c, &err), HXQ_OK);
    ck_assert_int_eq(c.sliding_window, 0);
    ck_assert_str_eq(c.rope_type, "");
    /* Qwen2: window switch and layers; v5 layer_types */
    ck_assert_int_eq(parse("{\"use_sliding_window\": true, \"max_window_layers\": 21,"
                           "\"layer_types\": [\"full_attention\", \"sliding_attention\","
                           "\"full_attention\", \"linear_attention\"]}", &c, &err), HXQ_OK);
    ck_assert_int_eq(c.use_sliding_window, 1);
    ck_assert_int_eq(c.max_window_layers, 21);
    ck_assert_int_eq(c.n_layer_types, 4);
    ck_assert(c.sliding_layers[0] == 2u);
    ck_assert_str_eq(c.layer_type_other, "linear_attention");
    /* Qwen3-MoE and Mixtral expert keys */
    ck_assert_int_eq(parse("{\"num_experts\": 128, \"moe_intermediate_size\": 768,"
                           "\"intermediate_size\": 6144, \"decoder_sparse_step\": 1,"
                           "\"mlp_only_layers\": [0, 3], \"norm_topk_prob\": true}", &c, &err),
                     HXQ_OK);
    ck_assert_int_eq(c.moe_intermediate_size, 768);
    ck_assert_int_eq(c.intermediate_size, 6144);
    ck_assert_int_eq(c.decoder_sparse_step, 1);
    ck_assert_int_eq(c.n_mlp_only_layers, 2);
    ck_assert_int_eq(parse("{}", &c, &err), HXQ_OK);
    ck_assert(c.partial_rotary_factor == 1.0);
    ck_assert_int_eq(c.max_window_layers, -1);
    ck_assert_int_eq(c.n_layer_types, 0);
    ck_assert_int_eq(c.moe_intermediate_size, 0);
}
END_TEST

static const struct {
    const char *json, *want;
} bad_configs[] = {
    {"{\"rope_scaling\": 2}", "\"rope_scaling\" is not an object"},
    {"{\"rope_parameters\": []}", "\"rope_parameters\" is not an object"},
    {"{\"rope_scaling\": {\"rope_type\": 3}}", "\"rope_type\" is not a short string"},
    {"{\"rope_scaling\": {\"factor\": \"8\"}}", "\"factor\" is not a number"},
    {"{\"rope_scaling\": {\"factor\": -2}}", "must be positive"},
    {"{\"rope_scaling\": {\"original_max_position_embeddings\": 8.5}}",
     "\"original_max_position_embeddings\" is not an integer"},
    {"{\"sliding_window\": \"4096\"}", "\"sliding_window\" is not an integer"},
    {"{\"sliding_window\": -4}", "negative"},
    {"{\"use_sliding_window\": 0}", "\"use_sliding_window\" is not true or false"},
    {"{\"layer_types\": \"full_attention\"}", "\"layer_types\" is not a list"},
    {"{\"layer_types\": [1]}", "\"layer_types\" holds a non-string"},
    {"{\"mlp_only_layers\": 3}", "\"mlp_only_layers\" is not a list"},
    {"{\"hidden_act\": [\"silu\"]}", "\"hidden_act\" is not a short string"},
    {"{\"moe_intermediate_size\": -1}", "negative"},
    {"{\"partial_rotary_factor\": 0}", "must be positive"},
    {"{", "not valid JSON"},
    {"[1]", "not a JSON object"},
    {"{\"hidden_size\": \"256\"}", "\"hidden_size\" is not an integer"},
    {"{\"hidden_size\": 25.5}", "\"hidden_size\" is not an integer"},
    {"{\"hidden_size\": 1e999}", "\"hidden_size\" is not an integer"},
    {"{\"vocab_size\": true}", "\"vocab_size\" is not an integer"},
    {"{\"num_hidden_layers\": -2}", "negative"},
    {"{\"num_key_value_heads\": -1}", "negative"},               /* fuzz finding */
    {"{\"pad_token_id\": -7}", "pad_token_id is negative"},
    {"{\"rms_norm_eps\": \"1e-5\"}", "\"rms_norm_eps\" is not a number"},
    {"{\"rope_theta\": 1e999}", "\"rope_theta\" is not a number"},
    {"{\"rope_parameters\": {\"rope_theta\": \"x\"}}", "\"rope_theta\" is not a number"},
    {"{\"rope_theta\": 0}", "must be positive"},
    {"{\"rms_norm_eps\": -1e-6}", "must be positive"},
    {"{\"norm_topk_prob\": 1}", "\"norm_topk_prob\" is not true or false"},
    {"{\"attention_bias\": \"false\"}", "\"attention_bias\" is not true or false"},
    {"{\"eos_token_id\": \"</s>\"}", "neither a number nor a list"},
    {"{\"eos_token_id\": [1, \"a\"]}", "eos_token_id"},
    {"{\"eos_token_id\": 1e999}", "eos_token_id"},
    {"{\"eos_token_id\": -3}", "eos_token_id"},
    {"{\"eos_token_id\": [0.5]}", "eos_token_id"},
};

START_TEST(bad_types)
{
    hxq_config c;
    hxq_error err;
    int rc = parse(bad_configs[_i].json, &c, &err);
    ck_assert_msg(rc == HXQ_ERR_FORMAT, "case %d: rc %d", _i, rc);
    ck_assert(strncmp(err.msg, "m/config.json: ", 15) == 0);
    ck_assert_msg(strstr(err.msg, bad_configs[_i].want) != NULL, "case %d: '%s' lacks '%s'", _i,
                  err.msg, bad_configs[_i].want);
}
END_TEST

START_TEST(load_errors)
{
    hxq_config c;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hxq_config_load("test/io/no-such-model", &c, &err), HXQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "test/io/no-such-model/config.json"));
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, tiny_olmoe_v5_config);
    tcase_add_test(tc, v4_spellings);
    tcase_add_test(tc, v5_wins_over_v4);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, family_keys);
    tcase_add_loop_test(tc, bad_types, 0, (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
    tcase_add_test(tc, load_errors);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(config_suite)
