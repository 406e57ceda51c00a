// record_ggml: writes outputs of ggml's own quantizers and CPU dot products for simlow's
// recorded test vectors (tests/vectors/ggml_recorded_vectors.npz). It contains no ggml code:
// it is linked against ggml's sources (ggml/src/ggml-quants.c, ggml/src/ggml-cpu/quants.c)
// compiled with -DGGML_CPU_GENERIC, which selects the generic C functions of quants.c
// (arch-fallback.h renames *_generic to the public names). See record.py and
// tests/vectors/README.md for the commit, flags and how to re-record.
//
// Usage (all files raw little-endian, row-major):
//   record_ggml quant <type> <rows> <k> <in.f32> <out.bin>
//       type: q8_0 q8_1 (the CPU backend's quantize_row_q8_0 / _q8_1, i.e. activations),
//             q4_0 q4_1 q2_K q3_K q4_K q5_K q6_K (quantize_row_*_ref)
//   record_ggml dot <type> <k> <m> <n> <act.bin> <w.bin> <out.f32>
//       type: q4_0_q8_0 q4_1_q8_1 q8_0_q8_0; out[i][j] = ggml_vec_dot_<type>(k, w row j, act row i)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-quants.h"
#include "quants.h"

// The FP16 -> FP32 table the CPU backend fills in ggml_cpu_init (ggml-cpu.c); the generic
// path reads it through GGML_CPU_FP16_TO_FP32 when the build has no F16C.
float ggml_table_f32_f16[1 << 16];

typedef void (*quant_fn)(const float *, void *, int64_t);
typedef void (*dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);

#define REF(name) ((quant_fn) quantize_row_##name##_ref)
static const struct { const char * name; quant_fn fn; size_t block_bytes; int block; } QUANTS[] = {
    {"q8_0", quantize_row_q8_0, sizeof(block_q8_0), QK8_0},
    {"q8_1", quantize_row_q8_1, sizeof(block_q8_1), QK8_1},
    {"q4_0", REF(q4_0), sizeof(block_q4_0), QK4_0},
    {"q4_1", REF(q4_1), sizeof(block_q4_1), QK4_1},
    {"q2_K", REF(q2_K), sizeof(block_q2_K), QK_K},
    {"q3_K", REF(q3_K), sizeof(block_q3_K), QK_K},
    {"q4_K", REF(q4_K), sizeof(block_q4_K), QK_K},
    {"q5_K", REF(q5_K), sizeof(block_q5_K), QK_K},
    {"q6_K", REF(q6_K), sizeof(block_q6_K), QK_K},
};

static const struct { const char * name; dot_fn fn; size_t w_block, a_block; } DOTS[] = {
    {"q4_0_q8_0", ggml_vec_dot_q4_0_q8_0, sizeof(block_q4_0), sizeof(block_q8_0)},
    {"q4_1_q8_1", ggml_vec_dot_q4_1_q8_1, sizeof(block_q4_1), sizeof(block_q8_1)},
    {"q8_0_q8_0", ggml_vec_dot_q8_0_q8_0, sizeof(block_q8_0), sizeof(block_q8_0)},
};

static void * read_all(const char * path, size_t want) {
    FILE * f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "record_ggml: cannot open %s\n", path); exit(2); }
    void * buf = malloc(want ? want : 1);
    size_t got = fread(buf, 1, want, f);
    fclose(f);
    if (got != want) { fprintf(stderr, "record_ggml: %s has %zu bytes, expected %zu\n", path, got, want); exit(2); }
    return buf;
}

static void write_all(const char * path, const void * buf, size_t n) {
    FILE * f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n) { fprintf(stderr, "record_ggml: cannot write %s\n", path); exit(2); }
    fclose(f);
}

static int quant(const char * type, long rows, long k, const char * in, const char * out) {
    for (size_t t = 0; t < sizeof(QUANTS) / sizeof(QUANTS[0]); t++) {
        if (strcmp(type, QUANTS[t].name) != 0) continue;
        if (k % QUANTS[t].block) { fprintf(stderr, "record_ggml: k %% %d != 0\n", QUANTS[t].block); return 2; }
        const size_t row_bytes = (size_t) (k / QUANTS[t].block) * QUANTS[t].block_bytes;
        float * x = read_all(in, (size_t) rows * k * sizeof(float));
        uint8_t * y = calloc((size_t) rows, row_bytes);
        for (long r = 0; r < rows; r++) QUANTS[t].fn(x + r * k, y + r * row_bytes, k);
        write_all(out, y, (size_t) rows * row_bytes);
        free(x); free(y);
        return 0;
    }
    fprintf(stderr, "record_ggml: unknown quant type %s\n", type);
    return 2;
}

static int dot(const char * type, long k, long m, long n, const char * act, const char * w, const char * out) {
    for (size_t t = 0; t < sizeof(DOTS) / sizeof(DOTS[0]); t++) {
        if (strcmp(type, DOTS[t].name) != 0) continue;
        const size_t a_row = (size_t) (k / 32) * DOTS[t].a_block, w_row = (size_t) (k / 32) * DOTS[t].w_block;
        uint8_t * a = read_all(act, (size_t) m * a_row);
        uint8_t * b = read_all(w, (size_t) n * w_row);
        float * s = calloc((size_t) m * n, sizeof(float));
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++)
                DOTS[t].fn((int) k, s + i * n + j, 0, b + j * w_row, 0, a + i * a_row, 0, 1);
        write_all(out, s, (size_t) m * n * sizeof(float));
        free(a); free(b); free(s);
        return 0;
    }
    fprintf(stderr, "record_ggml: unknown dot type %s\n", type);
    return 2;
}

int main(int argc, char ** argv) {
    for (uint32_t i = 0; i < (1u << 16); i++) ggml_table_f32_f16[i] = ggml_fp16_to_fp32((ggml_fp16_t) i);
    if (argc == 7 && strcmp(argv[1], "quant") == 0)
        return quant(argv[2], atol(argv[3]), atol(argv[4]), argv[5], argv[6]);
    if (argc == 9 && strcmp(argv[1], "dot") == 0)
        return dot(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]), argv[6], argv[7], argv[8]);
    fprintf(stderr, "usage: record_ggml quant <type> <rows> <k> <in.f32> <out.bin>\n"
                    "       record_ggml dot <type> <k> <m> <n> <act.bin> <w.bin> <out.f32>\n");
    return 2;
}
